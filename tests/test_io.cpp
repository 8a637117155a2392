// Tests of the I/O layer (dnamba/io.hpp): FASTA reading in every accepted encoding and every
// rejected shape of input, atomic output files, and the three embedding writers. The .npz
// archives are checked byte by byte with a small ZIP reader written here (independent of the
// writer's code), and, when python3 with numpy is installed, loaded with numpy itself.
#include <catch2/catch.hpp>
#include <htslib/bgzf.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "dnamba/error.hpp"
#include "dnamba/io.hpp"
#include "io/npy.hpp"
#include "io/npz_reader.hpp"
#include "io/npz_writer.hpp"
#include "io/atomic_output.hpp"

using namespace dnamba;
namespace fs = std::filesystem;

namespace {

// A fresh, empty directory under DNAMBA_TEST_TMP for one test case.
std::string io_dir(const std::string& name) {
    const fs::path p = fs::path(DNAMBA_TEST_TMP) / "io" / name;
    fs::remove_all(p);
    fs::create_directories(p);
    return p.string();
}

void put_file(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out << bytes;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void put_gzip(const std::string& path, const std::string& bytes) {
    gzFile g = gzopen(path.c_str(), "wb");
    REQUIRE(g != nullptr);
    REQUIRE(gzwrite(g, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
    REQUIRE(gzclose(g) == Z_OK);
}

void put_bgzip(const std::string& path, const std::string& bytes) {
    BGZF* f = bgzf_open(path.c_str(), "w");
    REQUIRE(f != nullptr);
    REQUIRE(bgzf_write(f, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
    REQUIRE(bgzf_close(f) == 0);
}

std::vector<SequenceRecord> read_all(const std::string& path) {
    FastaReader reader(path);
    std::vector<SequenceRecord> out;
    SequenceRecord rec;
    while (reader.next(rec)) out.push_back(rec);
    CHECK(reader.records_read() == out.size());
    return out;
}

// The Error thrown while reading `path` to the end (fails the test if none is thrown).
Error read_error(const std::string& path) {
    try {
        (void)read_all(path);
    } catch (const Error& e) {
        return e;
    }
    FAIL("no error reading " << path);
    return Error(ErrorKind::usage, "unreachable");
}

bool python_numpy_available() {
    static const int status = std::system("python3 -c 'import numpy' >/dev/null 2>&1");
    return status == 0;
}

// Runs a python3 snippet (with numpy imported as np, argv[1:] = args); true on exit 0.
bool run_python(const std::string& dir, const std::string& code, const std::string& args) {
    const std::string script = dir + "/check.py";
    put_file(script, "import sys\nimport numpy as np\n" + code);
    const std::string cmd = "python3 " + script + " " + args + " 2>&1";
    const int status = std::system(cmd.c_str());
    return status == 0;
}

std::uint32_t le16(const std::string& b, std::uint64_t at) {
    REQUIRE(at + 2 <= b.size());
    return static_cast<unsigned char>(b[at]) | static_cast<unsigned char>(b[at + 1]) << 8;
}
std::uint32_t le32(const std::string& b, std::uint64_t at) {
    REQUIRE(at + 4 <= b.size());
    return le16(b, at) | le16(b, at + 2) << 16;
}
std::uint64_t le64(const std::string& b, std::uint64_t at) {
    return le32(b, at) | static_cast<std::uint64_t>(le32(b, at + 4)) << 32;
}

// A parsed .npy: shape and float32 data.
struct Npy {
    std::vector<std::uint64_t> shape;
    std::vector<float> data;
    std::string dict;
    std::size_t header_size = 0;
};

Npy parse_npy(const std::string& b) {
    Npy n;
    REQUIRE(b.size() >= 10);
    REQUIRE(b.compare(0, 8, std::string("\x93NUMPY\x01\x00", 8)) == 0);
    const std::uint32_t hlen = le16(b, 8);
    n.header_size = 10 + hlen;
    REQUIRE(n.header_size % 64 == 0);
    REQUIRE(n.header_size <= b.size());
    n.dict = b.substr(10, hlen);
    REQUIRE(n.dict.back() == '\n');
    REQUIRE(n.dict.find("'descr': '<f4'") != std::string::npos);
    REQUIRE(n.dict.find("'fortran_order': False") != std::string::npos);
    const std::size_t s = n.dict.find("'shape': (");
    REQUIRE(s != std::string::npos);
    std::size_t i = s + 10;
    std::uint64_t count = 1;
    while (n.dict[i] != ')') {
        std::size_t used = 0;
        const std::uint64_t v = std::stoull(n.dict.substr(i), &used);
        n.shape.push_back(v);
        count *= v;
        i += used;
        while (n.dict[i] == ',' || n.dict[i] == ' ') ++i;
    }
    REQUIRE(b.size() == n.header_size + count * 4);
    n.data.resize(count);
    if (count) std::memcpy(n.data.data(), b.data() + n.header_size, count * 4);
    return n;
}

// A member of a ZIP archive as read back by zip_members().
struct ZipMember {
    std::string name;
    std::string data;
    std::uint32_t flags = 0;
    bool zip64 = false;  // central entry used a ZIP64 extra
};

struct ZipArchive {
    std::vector<ZipMember> members;
    bool zip64_end = false;
};

// An independent reader: end record (and ZIP64 end record), central directory, local
// headers; checks STORED, CRC-32, that local and central headers agree, and that members,
// directory and end records tile the file exactly.
ZipArchive read_zip(const std::string& b) {
    ZipArchive z;
    REQUIRE(b.size() >= 22);
    const std::uint64_t eocd = b.size() - 22;
    REQUIRE(le32(b, eocd) == 0x06054b50);
    REQUIRE(le16(b, eocd + 20) == 0);  // no comment
    std::uint64_t count = le16(b, eocd + 10);
    REQUIRE(le16(b, eocd + 8) == count);
    std::uint64_t cd_size = le32(b, eocd + 12);
    std::uint64_t cd_start = le32(b, eocd + 16);
    std::uint64_t cd_end_expected = eocd;
    if (eocd >= 20 && le32(b, eocd - 20) == 0x07064b50) {
        z.zip64_end = true;
        REQUIRE(le32(b, eocd - 20 + 16) == 1);
        const std::uint64_t rec = le64(b, eocd - 20 + 8);
        REQUIRE(rec + 56 == eocd - 20);
        REQUIRE(le32(b, rec) == 0x06064b50);
        REQUIRE(le64(b, rec + 4) == 44);
        count = le64(b, rec + 24);
        REQUIRE(le64(b, rec + 32) == count);
        cd_size = le64(b, rec + 40);
        cd_start = le64(b, rec + 48);
        cd_end_expected = rec;
    }
    REQUIRE(cd_start + cd_size == cd_end_expected);

    std::uint64_t p = cd_start;
    std::uint64_t expected_offset = 0;  // members must be contiguous from the start
    for (std::uint64_t k = 0; k < count; ++k) {
        REQUIRE(le32(b, p) == 0x02014b50);
        ZipMember m;
        m.flags = le16(b, p + 8);
        REQUIRE(le16(b, p + 10) == 0);  // STORED
        const std::uint32_t crc = le32(b, p + 16);
        std::uint64_t csize = le32(b, p + 20);
        std::uint64_t usize = le32(b, p + 24);
        const std::uint32_t nlen = le16(b, p + 28);
        const std::uint32_t xlen = le16(b, p + 30);
        REQUIRE(le16(b, p + 32) == 0);
        std::uint64_t offset = le32(b, p + 42);
        m.name = b.substr(p + 46, nlen);
        // ZIP64 extra: only the fields whose 32-bit slot is 0xFFFFFFFF, in order.
        for (std::uint64_t x = p + 46 + nlen; x < p + 46 + nlen + xlen;) {
            const std::uint32_t id = le16(b, x);
            const std::uint32_t len = le16(b, x + 2);
            if (id == 0x0001) {
                m.zip64 = true;
                std::uint64_t f = x + 4;
                if (usize == 0xffffffffu) { usize = le64(b, f); f += 8; }
                if (csize == 0xffffffffu) { csize = le64(b, f); f += 8; }
                if (offset == 0xffffffffu) { offset = le64(b, f); f += 8; }
                REQUIRE(f == x + 4 + len);
            }
            x += 4 + len;
        }
        REQUIRE(csize == usize);
        REQUIRE(offset == expected_offset);

        // Local header must agree with the central one.
        REQUIRE(le32(b, offset) == 0x04034b50);
        REQUIRE(le16(b, offset + 6) == m.flags);
        REQUIRE(le16(b, offset + 8) == 0);
        REQUIRE(le32(b, offset + 14) == crc);
        const std::uint32_t lnlen = le16(b, offset + 26);
        const std::uint32_t lxlen = le16(b, offset + 28);
        REQUIRE(b.substr(offset + 30, lnlen) == m.name);
        std::uint64_t lsize = le32(b, offset + 22);
        if (lsize == 0xffffffffu) {
            REQUIRE(lxlen == 20);
            REQUIRE(le16(b, offset + 30 + lnlen) == 0x0001);
            lsize = le64(b, offset + 30 + lnlen + 4);
            REQUIRE(le64(b, offset + 30 + lnlen + 12) == lsize);
        }
        REQUIRE(lsize == usize);
        const std::uint64_t data_at = offset + 30 + lnlen + lxlen;
        REQUIRE(data_at + usize <= cd_start);
        m.data = b.substr(data_at, usize);
        const auto actual_crc = static_cast<std::uint32_t>(
            crc32(0, reinterpret_cast<const Bytef*>(m.data.data()), static_cast<uInt>(m.data.size())));
        REQUIRE(actual_crc == crc);
        expected_offset = data_at + usize;
        z.members.push_back(std::move(m));
        p += 46 + nlen + xlen;
    }
    REQUIRE(p == cd_start + cd_size);
    REQUIRE(expected_offset == cd_start);
    return z;
}

// Deterministic, exactly representable test values.
float value(std::size_t row, std::size_t l, std::size_t c) {
    return static_cast<float>(row) * 1000.0f + static_cast<float>(l) * 2.0f + static_cast<float>(c) * 0.25f;
}

std::vector<float> block(std::size_t row, std::size_t length, std::size_t channels) {
    std::vector<float> v(length * channels);
    for (std::size_t l = 0; l < length; ++l)
        for (std::size_t c = 0; c < channels; ++c) v[l * channels + c] = value(row, l, c);
    return v;
}

RowInfo row_info(const std::string& name, std::int64_t length) { return RowInfo{name, name, 0, length, '+'}; }

// numpy check of an .npz written with block(row, L, C) per member: args are
// "path key:row:L key:row:L ..." (C fixed).
const char* k_python_npz_check = R"(
path, C = sys.argv[1], int(sys.argv[2])
expect = [a.rsplit(':', 2) for a in sys.argv[3:]]
with np.load(path) as z:
    records = [f for f in z.files if not f.startswith('dnamba/')]  # dnamba/...: the row table
    assert sorted(records) == sorted(k for k, _, _ in expect), (z.files, expect)
    assert [k.decode() for k in z['dnamba/key']] == [k for k, _, _ in expect]
    for key, row, L in expect:
        a = z[key]
        row, L = int(row), int(L)
        assert a.dtype == np.float32 and a.shape == (L, C), (key, a.dtype, a.shape)
        ref = (np.float32(row) * np.float32(1000) + np.arange(L, dtype=np.float32)[:, None] * np.float32(2)
               + np.arange(C, dtype=np.float32)[None, :] * np.float32(0.25))
        assert np.array_equal(a, ref), key
)";

}  // namespace

// ---- FASTA --------------------------------------------------------------------------------

TEST_CASE("FastaReader reads multi-line records, keeps case, ignores descriptions", "[io]") {
    const std::string dir = io_dir("fasta_plain");
    const std::string text =
        "\n>chr1 the first one\nACGTacgt\nNNNN\n\n>chr2\tdesc\nggcc\n>  spaced name\nAC GT\t\nA\n>last\nTTTT";
    put_file(dir + "/a.fa", text);
    const auto recs = read_all(dir + "/a.fa");
    REQUIRE(recs.size() == 4);
    CHECK(recs[0].name == "chr1");
    CHECK(recs[0].seq == "ACGTacgtNNNN");
    CHECK(recs[1].name == "chr2");
    CHECK(recs[1].seq == "ggcc");
    CHECK(recs[2].name == "spaced");
    CHECK(recs[2].seq == "ACGTA");
    CHECK(recs[3].name == "last");
    CHECK(recs[3].seq == "TTTT");  // no final newline

    FastaReader r(dir + "/a.fa");
    CHECK(r.path() == dir + "/a.fa");
    CHECK(r.records_read() == 0);
}

TEST_CASE("FastaReader handles CRLF line ends and a UTF-8 BOM", "[io]") {
    const std::string dir = io_dir("fasta_crlf");
    put_file(dir + "/crlf.fa", "\xef\xbb\xbf>r1 x\r\nAC\r\ngt\r\n\r\n>r2\r\nN\r\n");
    const auto recs = read_all(dir + "/crlf.fa");
    REQUIRE(recs.size() == 2);
    CHECK(recs[0].name == "r1");
    CHECK(recs[0].seq == "ACgt");
    CHECK(recs[1].name == "r2");
    CHECK(recs[1].seq == "N");
}

TEST_CASE("FastaReader reads gzip, concatenated gzip and bgzip", "[io]") {
    const std::string dir = io_dir("fasta_gz");
    std::string big;  // longer than any decompression block, one line
    for (int i = 0; i < 300000; ++i) big += "ACGT"[i % 4];
    const std::string text = ">a\nAAAA\nCC\n>b desc\n" + big + "\n>c\nacgt\n";

    put_gzip(dir + "/a.fa.gz", text);
    put_bgzip(dir + "/a.fa.bgz", text);
    for (const char* name : {"/a.fa.gz", "/a.fa.bgz"}) {
        INFO(name);
        const auto recs = read_all(dir + name);
        REQUIRE(recs.size() == 3);
        CHECK(recs[0].seq == "AAAACC");
        CHECK(recs[1].name == "b");
        CHECK(recs[1].seq == big);
        CHECK(recs[2].seq == "acgt");
    }

    // Two gzip members back to back (e.g. `cat a.gz b.gz`) read as one file.
    put_gzip(dir + "/p1.gz", ">x\nAC\n");
    put_gzip(dir + "/p2.gz", ">y\nGT\n");
    put_file(dir + "/cat.fa.gz", slurp(dir + "/p1.gz") + slurp(dir + "/p2.gz"));
    const auto recs = read_all(dir + "/cat.fa.gz");
    REQUIRE(recs.size() == 2);
    CHECK(recs[1].name == "y");
    CHECK(recs[1].seq == "GT");
}

TEST_CASE("FastaReader: empty input is zero records, not an error", "[io]") {
    const std::string dir = io_dir("fasta_empty");
    put_file(dir + "/empty.fa", "");
    put_file(dir + "/blank.fa", "\n  \n\r\n");
    put_gzip(dir + "/empty.fa.gz", "");
    for (const char* name : {"/empty.fa", "/blank.fa", "/empty.fa.gz"}) {
        INFO(name);
        FastaReader r(dir + name);
        SequenceRecord rec;
        CHECK_FALSE(r.next(rec));
        CHECK_FALSE(r.next(rec));
        CHECK(r.records_read() == 0);
    }
}

TEST_CASE("FastaReader rejects malformed FASTA naming the record", "[io]") {
    const std::string dir = io_dir("fasta_bad");

    SECTION("header with no sequence, in the middle") {
        put_file(dir + "/a.fa", ">one\nACGT\n>two desc\n>three\nAC\n");
        FastaReader r(dir + "/a.fa");
        SequenceRecord rec;
        REQUIRE(r.next(rec));
        try {
            (void)r.next(rec);
            FAIL("expected an error");
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::input);
            const std::string m = e.what();
            CHECK_THAT(m, Catch::Contains(dir + "/a.fa"));
            CHECK_THAT(m, Catch::Contains("record 2 'two'"));
            CHECK_THAT(m, Catch::Contains("line 3"));
            CHECK_THAT(m, Catch::Contains("no sequence"));
        }
        // The reader stays failed.
        CHECK_THROWS_AS(r.next(rec), Error);
    }
    SECTION("header with no sequence at the end") {
        put_file(dir + "/b.fa", ">one\nACGT\n>two\n\n");
        const Error e = read_error(dir + "/b.fa");
        CHECK_THAT(e.what(), Catch::Contains("record 2 'two'") && Catch::Contains("no sequence"));
    }
    SECTION("header with no name") {
        put_file(dir + "/c.fa", ">  \nACGT\n");
        const Error e = read_error(dir + "/c.fa");
        CHECK(e.kind() == ErrorKind::input);
        CHECK_THAT(e.what(), Catch::Contains("record 1") && Catch::Contains("no name"));
    }
    SECTION("binary bytes inside a sequence") {
        put_file(dir + "/d.fa", std::string(">ok\nACGT\n>bad\nAC\0GT\n", 21));
        const Error e = read_error(dir + "/d.fa");
        CHECK_THAT(e.what(), Catch::Contains("record 2 'bad'") && Catch::Contains("\\x00"));
    }
}

TEST_CASE("FastaReader rejects input that is not FASTA", "[io]") {
    const std::string dir = io_dir("fasta_not");

    put_file(dir + "/reads.fq", "@read1\nACGT\n+\nIIII\n");
    Error e = read_error(dir + "/reads.fq");
    CHECK(e.kind() == ErrorKind::input);
    CHECK_THAT(e.what(), Catch::Contains(dir + "/reads.fq") && Catch::Contains("FASTQ"));

    put_gzip(dir + "/reads.fq.gz", "@read1\nACGT\n+\nIIII\n");
    e = read_error(dir + "/reads.fq.gz");
    CHECK_THAT(e.what(), Catch::Contains("FASTQ"));

    std::string binary;
    for (int i = 0; i < 512; ++i) binary += static_cast<char>((i * 37 + 11) & 0xff);
    put_file(dir + "/x.bin", binary);
    e = read_error(dir + "/x.bin");
    CHECK(e.kind() == ErrorKind::input);
    CHECK_THAT(e.what(), Catch::Contains("not a FASTA file"));

    put_file(dir + "/table.txt", "chrom\tstart\tend\nchr1\t0\t10\n");
    e = read_error(dir + "/table.txt");
    CHECK_THAT(e.what(), Catch::Contains("line 1") && Catch::Contains("'>'"));
}

TEST_CASE("FastaReader: missing file, directory, empty path", "[io]") {
    const std::string dir = io_dir("fasta_missing");
    try {
        FastaReader r(dir + "/nope.fa");
        FAIL("expected an error");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::input);
        CHECK_THAT(e.what(), Catch::Contains(dir + "/nope.fa") && Catch::Contains("cannot open") &&
                                 Catch::Contains("No such file"));
    }
    CHECK_THROWS_WITH(FastaReader(dir), Catch::Contains(dir) && Catch::Contains("directory"));
    CHECK_THROWS_AS(FastaReader(""), Error);
}

TEST_CASE("FastaReader: truncated or corrupt gzip is an error", "[io]") {
    const std::string dir = io_dir("fasta_trunc");
    std::string text;
    for (int r = 0; r < 200; ++r) {
        text += ">seq" + std::to_string(r) + "\n";
        for (int i = 0; i < 500; ++i) text += "ACGTTGCAAC"[(i * 7 + r) % 10];
        text += "\n";
    }
    put_gzip(dir + "/full.gz", text);
    const std::string gz = slurp(dir + "/full.gz");
    REQUIRE(gz.size() > 100);

    put_file(dir + "/half.fa.gz", gz.substr(0, gz.size() / 2));
    Error e = read_error(dir + "/half.fa.gz");
    CHECK(e.kind() == ErrorKind::input);
    CHECK_THAT(e.what(), Catch::Contains(dir + "/half.fa.gz") && Catch::Contains("truncated"));

    put_file(dir + "/notrailer.fa.gz", gz.substr(0, gz.size() - 4));
    e = read_error(dir + "/notrailer.fa.gz");
    CHECK_THAT(e.what(), Catch::Contains("truncated"));

    std::string corrupt = gz;
    for (std::size_t i = 40; i < 80; ++i) corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5a);
    put_file(dir + "/corrupt.fa.gz", corrupt);
    CHECK_THROWS_AS(read_all(dir + "/corrupt.fa.gz"), Error);

    put_file(dir + "/five_bytes.fa.gz", gz.substr(0, 5));  // too short even for a gzip header
    e = read_error(dir + "/five_bytes.fa.gz");
    CHECK_THAT(e.what(), Catch::Contains("gzip"));
}

// ---- AtomicOutputFile ---------------------------------------------------------------------

TEST_CASE("AtomicOutputFile appears only on commit", "[io]") {
    const std::string dir = io_dir("atomic");
    const std::string final_path = dir + "/out.txt";

    SECTION("commit renames the temporary file") {
        AtomicOutputFile out(final_path);
        CHECK(out.final_path() == final_path);
        CHECK(out.temp_path() == dir + "/.out.txt.tmp." + std::to_string(::getpid()));
        CHECK(fs::exists(out.temp_path()));
        std::fputs("hello ", out.file());
        out.write("world\n", 6);
        CHECK_FALSE(fs::exists(final_path));
        out.commit();
        CHECK(out.committed());
        CHECK(slurp(final_path) == "hello world\n");
        CHECK_FALSE(fs::exists(out.temp_path()));
        CHECK_THROWS_AS(out.commit(), std::logic_error);
        CHECK_THROWS_AS(out.file(), std::logic_error);
    }
    SECTION("destruction without commit leaves nothing") {
        std::string temp;
        {
            AtomicOutputFile out(final_path);
            temp = out.temp_path();
            out.write("partial", 7);
        }
        CHECK_FALSE(fs::exists(final_path));
        CHECK_FALSE(fs::exists(temp));
        CHECK(fs::is_empty(dir));
    }
    SECTION("an existing file is replaced only on commit") {
        put_file(final_path, "old");
        {
            AtomicOutputFile out(final_path);
            out.write("new", 3);
        }
        CHECK(slurp(final_path) == "old");
        AtomicOutputFile out(final_path);
        out.write("new", 3);
        out.commit();
        CHECK(slurp(final_path) == "new");
    }
    SECTION("two outputs for one path get distinct temporaries") {
        AtomicOutputFile a(final_path);
        AtomicOutputFile b(final_path);
        CHECK(a.temp_path() != b.temp_path());
        a.write("a", 1);
        b.write("b", 1);
        a.commit();
        b.commit();
        CHECK(slurp(final_path) == "b");
    }
    SECTION("remove_uncommitted_outputs() deletes live temporaries") {
        AtomicOutputFile out(final_path);
        out.write("x", 1);
        remove_uncommitted_outputs();
        CHECK_FALSE(fs::exists(out.temp_path()));
        // A registration made after that cleanup survives the older object's destruction.
        auto first = std::make_unique<AtomicOutputFile>(dir + "/first.txt");
        remove_uncommitted_outputs();
        AtomicOutputFile second(dir + "/second.txt");
        first.reset();
        CHECK(fs::exists(second.temp_path()));
        remove_uncommitted_outputs();
        CHECK_FALSE(fs::exists(second.temp_path()));
    }
    SECTION("unwritable destinations") {
        try {
            AtomicOutputFile out(dir + "/no/such/dir/out.tsv");
            FAIL("expected an error");
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::io);
            CHECK_THAT(e.what(), Catch::Contains(dir + "/no/such/dir/out.tsv"));
        }
        CHECK_THROWS_WITH(AtomicOutputFile(dir), Catch::Contains("directory"));
        if (::geteuid() != 0) {  // root ignores directory permissions
            fs::create_directories(dir + "/ro");
            fs::permissions(dir + "/ro", fs::perms::owner_read | fs::perms::owner_exec);
            CHECK_THROWS_AS(AtomicOutputFile(dir + "/ro/out.tsv"), Error);
            fs::permissions(dir + "/ro", fs::perms::owner_all);
        }
    }
}

// ---- writers ------------------------------------------------------------------------------

TEST_CASE("output format is chosen by extension", "[io]") {
    CHECK(output_kind_for_path("x/out.npz") == OutputKind::per_position);
    CHECK(output_kind_for_path("out.NPZ") == OutputKind::per_position);
    CHECK(output_kind_for_path("out.tsv") == OutputKind::pooled);
    CHECK(output_kind_for_path("a.b.npy") == OutputKind::pooled);
    CHECK(output_kind_for_path("out.tsv.gz") == OutputKind::pooled);  // bgzip-compressed TSV
    CHECK(output_kind_for_path("-") == OutputKind::pooled);           // TSV on standard output
    for (const char* bad : {"out.csv", "out", "out.npy.gz", "out.gz", "npz", "dir/.npz/"}) {
        INFO(bad);
        try {
            (void)output_kind_for_path(bad);
            FAIL("expected an error");
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::usage);
            CHECK_THAT(e.what(), Catch::Contains(".tsv") && Catch::Contains(".npy") && Catch::Contains(".npz"));
        }
    }
    CHECK_THROWS_AS(make_embedding_writer("out.parquet"), Error);
    CHECK(npy_names_path("d/emb.npy") == "d/emb.names.tsv");
    CHECK(npy_names_path("d/emb.NPY") == "d/emb.names.tsv");
}

TEST_CASE("TSV writer round-trips float32 values exactly", "[io]") {
    const std::string dir = io_dir("tsv");
    const std::string path = dir + "/emb.tsv";
    const std::vector<std::vector<float>> rows = {
        {0.1f, 1.0f / 3.0f, -3.4028235e38f, 1e-45f},
        {0.0f, -0.0f, 16777217.0f, -1.17549435e-38f},
        {std::nextafter(1.0f, 2.0f), 123456.789f, -2.5e-7f, 7.0f},
    };
    auto w = make_embedding_writer(path);
    CHECK(w->kind() == OutputKind::pooled);
    CHECK(w->output_paths() == std::vector<std::string>{path});
    w->begin(4);
    w->write(RowInfo{"seqA", "chr1", 100, 200, '-'}, rows[0].data(), 1);
    w->write(row_info("seqB", 5000), rows[1].data(), 1);
    w->write(RowInfo{"with\ttab", "chr2", 0, 3, '+'}, rows[2].data(), 1);
    CHECK_THROWS_AS(w->write(row_info("x", 1), rows[0].data(), 2), std::logic_error);
    CHECK_FALSE(fs::exists(path));
    w->commit();
    CHECK(w->rows_written() == 3);

    std::istringstream in(slurp(path));
    std::string line;
    REQUIRE(std::getline(in, line));
    CHECK(line == "name\tchrom\tstart\tend\tstrand\te0\te1\te2\te3");
    const std::vector<std::vector<std::string>> meta = {
        {"seqA", "chr1", "100", "200", "-"}, {"seqB", "seqB", "0", "5000", "+"}, {"with_tab", "chr2", "0", "3", "+"}};
    for (std::size_t r = 0; r < rows.size(); ++r) {
        REQUIRE(std::getline(in, line));
        std::vector<std::string> f;
        std::istringstream ls(line);
        for (std::string field; std::getline(ls, field, '\t');) f.push_back(field);
        REQUIRE(f.size() == 9);
        for (std::size_t k = 0; k < 5; ++k) CHECK(f[k] == meta[r][k]);
        for (std::size_t c = 0; c < 4; ++c) {
            const float back = std::strtof(f[5 + c].c_str(), nullptr);
            INFO(f[5 + c]);
            CHECK(std::memcmp(&back, &rows[r][c], sizeof(float)) == 0);  // bit-exact, -0 included
        }
    }
    CHECK_FALSE(std::getline(in, line));
    CHECK(fs::is_regular_file(path));
    CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 1);  // no temp left
}

TEST_CASE("TSV writer: no rows, and no file without commit", "[io]") {
    const std::string dir = io_dir("tsv_empty");
    {
        auto w = make_embedding_writer(dir + "/none.tsv");
        w->begin(2);
        const float v[2] = {1, 2};
        w->write(row_info("a", 2), v, 1);
    }
    CHECK(fs::is_empty(dir));
    auto w = make_embedding_writer(dir + "/zero.tsv");
    w->begin(2);
    w->commit();
    CHECK(slurp(dir + "/zero.tsv") == "name\tchrom\tstart\tend\tstrand\te0\te1\n");
    CHECK_THROWS_AS(w->commit(), std::logic_error);
}

TEST_CASE("NPY writer: valid header, exact data, names table", "[io]") {
    const std::string dir = io_dir("npy");
    const std::string path = dir + "/emb.npy";
    const std::size_t C = 5, N = 3;
    {
        auto w = make_embedding_writer(path);
        CHECK(w->output_paths() == std::vector<std::string>{path, dir + "/emb.names.tsv"});
        w->begin(C);
        for (std::size_t r = 0; r < N; ++r) {
            const auto v = block(r, 1, C);
            w->write(RowInfo{"s" + std::to_string(r), "chr" + std::to_string(r), 10 * std::int64_t(r), 99, '+'},
                     v.data(), 1);
        }
        CHECK_FALSE(fs::exists(path));
        CHECK_FALSE(fs::exists(dir + "/emb.names.tsv"));
        w->commit();
    }
    const std::string bytes = slurp(path);
    const Npy npy = parse_npy(bytes);
    CHECK(npy.header_size == io_detail::k_npy_fixed_header);
    CHECK(npy.dict.rfind("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 5), }", 0) == 0);
    REQUIRE(npy.shape == std::vector<std::uint64_t>{N, C});
    for (std::size_t r = 0; r < N; ++r)
        for (std::size_t c = 0; c < C; ++c) CHECK(npy.data[r * C + c] == value(r, 0, c));
    CHECK(slurp(dir + "/emb.names.tsv") ==
          "index\tname\tchrom\tstart\tend\tstrand\n0\ts0\tchr0\t0\t99\t+\n1\ts1\tchr1\t10\t99\t+\n"
          "2\ts2\tchr2\t20\t99\t+\n");
    CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 2);

    // Zero rows: shape (0, C); never begun: shape (0, 0).
    auto w0 = make_embedding_writer(dir + "/zero.npy");
    w0->begin(7);
    w0->commit();
    CHECK(parse_npy(slurp(dir + "/zero.npy")).shape == std::vector<std::uint64_t>{0, 7});
    auto w00 = make_embedding_writer(dir + "/never.npy");
    w00->commit();
    CHECK(parse_npy(slurp(dir + "/never.npy")).shape == std::vector<std::uint64_t>{0, 0});
    CHECK(slurp(dir + "/never.names.tsv") == "index\tname\tchrom\tstart\tend\tstrand\n");

    if (!python_numpy_available()) {
        WARN("python3 with numpy not available: skipping the numpy.load check of .npy");
    } else {
        CHECK(run_python(dir, R"(
a = np.load(sys.argv[1])
assert a.dtype == np.float32 and a.shape == (3, 5), (a.dtype, a.shape)
ref = np.arange(3, dtype=np.float32)[:, None] * 1000 + np.arange(5, dtype=np.float32)[None, :] * np.float32(0.25)
assert np.array_equal(a, ref)
assert np.load(sys.argv[2]).shape == (0, 7)
assert np.load(sys.argv[3]).shape == (0, 0)
)", path + " " + dir + "/zero.npy " + dir + "/never.npy"));
    }
}

TEST_CASE("npy headers are padded to 64 bytes", "[io]") {
    for (const auto& shape : std::vector<std::vector<std::uint64_t>>{{0, 0}, {3}, {12345678901234567890ull, 7}}) {
        const std::string h = io_detail::npy_f32_header(shape);
        CHECK(h.size() % 64 == 0);
        CHECK(h.back() == '\n');
        CHECK(io_detail::npy_f32_header(shape, 128).size() == 128);
    }
    CHECK(io_detail::npy_f32_header({3}).find("'shape': (3,)") != std::string::npos);
    CHECK_THROWS_AS(io_detail::npy_f32_header({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
                                               19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30},
                                              64),
                    std::logic_error);
}

TEST_CASE("npz keys are made safe", "[io]") {
    CHECK(io_detail::npz_safe_key("chr1") == "chr1");
    CHECK(io_detail::npz_safe_key("a/b/c") == "a_b_c");
    CHECK(io_detail::npz_safe_key("") == "_");
    CHECK(io_detail::npz_safe_key("caf\xc3\xa9") == "caf\xc3\xa9");  // valid UTF-8 kept
    CHECK(io_detail::npz_safe_key("x\xff\xc3y") == "x__y");
    CHECK(io_detail::npz_safe_key(std::string("a\0b", 3)) == "a_b");
}

namespace {

// Writes records "a" (L=3), "b/c" (L=1), "a" again (L=2), "a~2" (L=4), "empty" (L=0),
// "caf\xc3\xa9" (L=2), C=3, and checks the archive with read_zip and (if present) numpy.
void check_npz_roundtrip(const std::string& dir, io_detail::NpzOptions options) {
    const std::string path = dir + "/emb.npz";
    const std::size_t C = 3;
    const std::vector<std::pair<std::string, std::size_t>> rows = {
        {"a", 3}, {"b/c", 1}, {"a", 2}, {"a~2", 4}, {"empty", 0}, {"caf\xc3\xa9", 2}};
    const std::vector<std::string> keys = {"a", "b_c", "a~2", "a~2~2", "empty", "caf\xc3\xa9"};
    {
        io_detail::NpzWriter w(path, options);
        CHECK(w.kind() == OutputKind::per_position);
        w.begin(C);
        for (std::size_t r = 0; r < rows.size(); ++r) {
            const auto v = block(r, rows[r].second, C);
            w.write(row_info(rows[r].first, static_cast<std::int64_t>(rows[r].second)), v.data(), rows[r].second);
            CHECK(w.key(r) == keys[r]);
        }
        CHECK_FALSE(fs::exists(path));
        w.commit();
        CHECK(w.rows_written() == rows.size());
    }
    const ZipArchive z = read_zip(slurp(path));
    CHECK(z.zip64_end == options.force_zip64);
    REQUIRE(z.members.size() == rows.size() + 6);  // + the row table: key name chrom start end strand
    CHECK(z.members[rows.size()].name == "dnamba/key.npy");
    CHECK(z.members[rows.size() + 5].name == "dnamba/strand.npy");
    std::string py_args = path + " " + std::to_string(C);
    for (std::size_t r = 0; r < rows.size(); ++r) {
        const ZipMember& m = z.members[r];
        CHECK(m.name == keys[r] + ".npy");
        CHECK(m.zip64 == options.force_zip64);
        CHECK(((m.flags & 0x800) != 0) == (r == 5));  // UTF-8 flag only for the non-ASCII name
        const Npy npy = parse_npy(m.data);
        REQUIRE(npy.shape == std::vector<std::uint64_t>{rows[r].second, C});
        CHECK(npy.data == block(r, rows[r].second, C));
        py_args += " '" + keys[r] + ":" + std::to_string(r) + ":" + std::to_string(rows[r].second) + "'";
    }
    if (!python_numpy_available()) {
        WARN("python3 with numpy not available: skipping the numpy.load check of .npz");
    } else {
        CHECK(run_python(dir, k_python_npz_check, py_args));
    }
}

}  // namespace

TEST_CASE("NPZ writer: structure, CRCs, duplicate and unsafe keys", "[io]") {
    check_npz_roundtrip(io_dir("npz"), {});
}

TEST_CASE("NPZ writer: ZIP64 records (forced) are valid", "[io]") {
    check_npz_roundtrip(io_dir("npz64"), io_detail::NpzOptions{true});
}

TEST_CASE("NPZ writer: empty archive, factory, no file without commit", "[io]") {
    const std::string dir = io_dir("npz_empty");
    {
        auto w = make_embedding_writer(dir + "/gone.npz");
        CHECK(w->kind() == OutputKind::per_position);
        w->begin(2);
        const auto v = block(0, 4, 2);
        w->write(row_info("x", 4), v.data(), 4);
    }
    CHECK(fs::is_empty(dir));
    auto w = make_embedding_writer(dir + "/empty.npz");
    w->commit();  // never begun: still a valid, empty archive
    const std::string bytes = slurp(dir + "/empty.npz");
    CHECK(read_zip(bytes).members.size() == 6);  // no records: only the (empty) row table
    if (python_numpy_available()) {
        CHECK(run_python(dir, "z = np.load(sys.argv[1])\nassert all(f.startswith('dnamba/') for f in z.files)\n"
                              "assert z['dnamba/start'].shape == (0,)\n", dir + "/empty.npz"));
    }
}

TEST_CASE("NPZ writer: more than 65535 members switches to ZIP64", "[io]") {
    const std::string dir = io_dir("npz_many");
    const std::string path = dir + "/many.npz";
    const std::size_t n = 70000, C = 2;
    {
        auto w = make_embedding_writer(path);
        w->begin(C);
        for (std::size_t r = 0; r < n; ++r) {
            const float v[2] = {static_cast<float>(r), -static_cast<float>(r)};
            w->write(row_info("r" + std::to_string(r), 1), v, 1);
        }
        w->commit();
    }
    const ZipArchive z = read_zip(slurp(path));
    CHECK(z.zip64_end);
    REQUIRE(z.members.size() == n + 6);  // + the row table
    for (std::size_t r : {std::size_t{0}, std::size_t{65534}, std::size_t{65535}, n - 1}) {
        CHECK(z.members[r].name == "r" + std::to_string(r) + ".npy");
        CHECK_FALSE(z.members[r].zip64);  // small members need no per-member ZIP64 fields
        const Npy npy = parse_npy(z.members[r].data);
        CHECK(npy.data == std::vector<float>{static_cast<float>(r), -static_cast<float>(r)});
    }
    if (!python_numpy_available()) {
        WARN("python3 with numpy not available: skipping the numpy.load check of a ZIP64 .npz");
    } else {
        CHECK(run_python(dir, R"(
with np.load(sys.argv[1]) as z:
    assert len(z.files) == 70006
    assert z['dnamba/name'][69999] == b'r69999' and z['dnamba/end'][69999] == 1
    for r in (0, 65535, 69999):
        assert np.array_equal(z['r%d' % r], np.array([[r, -r]], dtype=np.float32))
)", path));
    }
}

// ---- the one .npy parser (io/npy.hpp): pooled .npy tables and .npz members ------------------

namespace {

// A .npy from its parts: "\x93NUMPY", version major.0, the header length, `dict` padded with
// spaces and a '\n' to a 64-byte boundary (as numpy does), then `data`.
std::string npy_file_bytes(const std::string& dict, const std::string& data, int major = 1) {
    std::string out("\x93NUMPY", 6);
    out += static_cast<char>(major);
    out += '\0';
    const std::size_t prefix = major == 1 ? 10 : 12;
    std::string padded = dict;
    while ((prefix + padded.size() + 1) % 64 != 0) padded += ' ';
    padded += '\n';
    if (major == 1) {
        io_detail::put_u16(out, static_cast<std::uint32_t>(padded.size()));
    } else {
        io_detail::put_u32(out, static_cast<std::uint32_t>(padded.size()));
    }
    return out + padded + data;
}

std::string float_bytes(const std::vector<float>& v) {
    return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

const char* const k_dict_2x3 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";

// The message of the Error(input) that opening `path` as a float32 matrix throws.
std::string npy_open_error(const std::string& path) {
    std::ifstream in;
    try {
        (void)io_detail::npy_open_f32_matrix(path, in);
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::input);
        return e.what();
    }
    FAIL("no error opening " + path);
    return "";
}

}  // namespace

TEST_CASE("npy parser: versions 1.0 to 3.0, keys in any order, data after the header", "[io]") {
    const std::string dir = io_dir("npy_parse");
    const std::vector<float> six = {1, -2, 3.5f, 4, 5, -6.25f};
    for (int major : {1, 2, 3}) {
        const std::string path = dir + "/v" + std::to_string(major) + ".npy";
        put_file(path, npy_file_bytes(k_dict_2x3, float_bytes(six), major));
        std::ifstream in;
        const io_detail::NpyMatrixLayout m = io_detail::npy_open_f32_matrix(path, in);
        CHECK(m.rows == 2);
        CHECK(m.cols == 3);
        CHECK(m.data_offset == 128);  // 10 (12) bytes + the 60-byte dict + '\n' > 64
        std::vector<float> back(6);
        REQUIRE(in.read(reinterpret_cast<char*>(back.data()), 24));
        CHECK(back == six);
    }
    // other writers: keys in another order, double quotes, no trailing commas, Python 2 longs
    put_file(dir + "/order.npy",
             npy_file_bytes("{\"shape\": (3L, 2L), \"fortran_order\": False, \"descr\": \"<f4\"}", float_bytes(six)));
    std::ifstream in;
    const auto m = io_detail::npy_open_f32_matrix(dir + "/order.npy", in);
    CHECK((m.rows == 3 && m.cols == 2));
    // the writer's own headers, fixed-size ones included, parse back to their shapes
    put_file(dir + "/own.npy", io_detail::npy_f32_header({4, 0}, io_detail::k_npy_fixed_header));
    std::ifstream own;
    const auto e = io_detail::npy_open_f32_matrix(dir + "/own.npy", own);
    CHECK((e.rows == 4 && e.cols == 0 && e.data_offset == io_detail::k_npy_fixed_header));
    // the full header is there for any shape: 1-D, 0-D
    const std::string one_d = io_detail::npy_f32_header({7});
    const io_detail::NpyByteSource read = [&](std::uint64_t offset, std::uint64_t bytes) {
        return one_d.substr(offset, bytes);
    };
    const io_detail::NpyHeader h = io_detail::npy_parse_header(read, one_d.size(), "one_d");
    CHECK(h.descr == "<f4");
    CHECK_FALSE(h.fortran_order);
    CHECK(h.shape == std::vector<std::uint64_t>{7});
    CHECK(h.data_offset == 128);
}

TEST_CASE("npy parser: truncated files, Fortran order, other dtypes and shapes are named with the file",
          "[io]") {
    const std::string dir = io_dir("npy_bad");
    const std::string six = float_bytes({1, 2, 3, 4, 5, 6});
    // the dict as numpy writes it, from its three values
    auto dict = [](const std::string& descr, const std::string& fortran, const std::string& shape) {
        return "{'descr': " + descr + ", 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
    };
    struct Case {
        std::string name, bytes, what;
    };
    const Case cases[] = {
        {"short_data.npy", npy_file_bytes(k_dict_2x3, six.substr(0, 20)),
         "truncated data: shape (2, 3) needs 24 bytes of float32 data, only 20 follow the header"},
        {"short_header.npy", npy_file_bytes(k_dict_2x3, six).substr(0, 40), "truncated .npy header"},
        {"prefix_only.npy", std::string("\x93NUMPY\x01", 7), "truncated .npy header"},
        {"fortran.npy", npy_file_bytes(dict("'<f4'", "True", "(2, 3)"), six), "Fortran order"},
        {"f8.npy", npy_file_bytes(dict("'<f8'", "False", "(1, 3)"), six), "unsupported dtype '<f8'; expected float32 ('<f4')"},
        {"i4.npy", npy_file_bytes(dict("'<i4'", "False", "(2, 3)"), six), "unsupported dtype '<i4'"},
        {"big_endian.npy", npy_file_bytes(dict("'>f4'", "False", "(2, 3)"), six), "unsupported dtype '>f4'"},
        {"record.npy", npy_file_bytes(dict("[('a', '<f4')]", "False", "(6,)"), six), "structured"},
        {"one_d.npy", npy_file_bytes(dict("'<f4'", "False", "(6,)"), six), "expected a 2-D array, the shape is (6,)"},
        {"three_d.npy", npy_file_bytes(dict("'<f4'", "False", "(1, 2, 3)"), six), "the shape is (1, 2, 3)"},
        {"bad_shape.npy", npy_file_bytes(dict("'<f4'", "False", "(2, -3)"), six), "malformed .npy header"},
        {"text.npy", "name\tchrom\n", "not a .npy array"},
        {"v4.npy", npy_file_bytes(k_dict_2x3, six, 4), "unsupported .npy format version 4.0"},
        {"no_shape.npy", npy_file_bytes("{'descr': '<f4', 'fortran_order': False}", six), "no 'shape'"},
        {"extra_key.npy", npy_file_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", six), "unknown key 'x'"},
    };
    for (const Case& c : cases) {
        const std::string path = dir + "/" + c.name;
        put_file(path, c.bytes);
        CHECK_THAT(npy_open_error(path), Catch::StartsWith(path + ": ") && Catch::Contains(c.what));
    }
    CHECK_THAT(npy_open_error(dir + "/missing.npy"), Catch::Contains(dir + "/missing.npy: cannot open"));
}

// The row table (item 3 of issue 17): the coordinates the .npy's .names.tsv has, as arrays
// inside the archive, read back by dnamba (merge) and by numpy; and the provenance member.
TEST_CASE("npz writer: the row table and provenance read back", "[io][merge]") {
    const std::string dir = io_dir("npz_table");
    const std::string path = dir + "/t.npz";
    const std::vector<RowInfo> rows = {{"chr1:1-3", "chr1", 0, 3, '+'}, {"dup", "chrX", 100, 102, '-'},
                                       {"dup", "chrX", 200, 201, '+'}, {"a/b", "scaffold_12", 7, 8, '-'}};
    io_detail::NpzOptions options;
    options.provenance = R"({"dnamba":"x","model":"0123456789abcdef","pool":"none"})";
    {
        io_detail::NpzWriter w(path, options);
        w.begin(2);
        for (std::size_t r = 0; r < rows.size(); ++r) {
            const auto v = block(r, static_cast<std::size_t>(rows[r].end - rows[r].start), 2);
            w.write(rows[r], v.data(), static_cast<std::size_t>(rows[r].end - rows[r].start));
        }
        w.commit();
        CHECK(w.rows_written() == 4);
    }
    std::vector<std::string> keys;
    std::string provenance;
    std::size_t r = 0;
    io_detail::npz_for_each(path, [&](io_detail::NpzMember& m) {
        keys.push_back(m.key);
        REQUIRE(m.has_row);
        CHECK(m.row.name == rows[r].name);  // the original name, not the key
        CHECK(m.row.chrom == rows[r].chrom);
        CHECK(m.row.start == rows[r].start);
        CHECK(m.row.end == rows[r].end);
        CHECK(m.row.strand == rows[r].strand);
        CHECK(m.data == block(r, m.rows, 2));
        ++r;
    }, &provenance);
    CHECK(keys == std::vector<std::string>{"chr1:1-3", "dup", "dup~2", "a_b"});
    CHECK(provenance == options.provenance);
    if (!python_numpy_available()) {
        WARN("python3 with numpy not available: skipping the numpy.load check of the row table");
    } else {
        CHECK(run_python(dir, R"(
with np.load(sys.argv[1]) as z:
    assert [k.decode() for k in z['dnamba/key']] == ['chr1:1-3', 'dup', 'dup~2', 'a_b']
    assert [k.decode() for k in z['dnamba/name']] == ['chr1:1-3', 'dup', 'dup', 'a/b']
    assert [k.decode() for k in z['dnamba/chrom']] == ['chr1', 'chrX', 'chrX', 'scaffold_12']
    assert z['dnamba/start'].dtype == np.int64 and z['dnamba/start'].tolist() == [0, 100, 200, 7]
    assert z['dnamba/end'].tolist() == [3, 102, 201, 8]
    assert z['dnamba/strand'].tolist() == [b'+', b'-', b'+', b'-']
    import json
    assert json.loads(z['dnamba/provenance'].item())['model'] == '0123456789abcdef'
    assert z['dup~2'].shape == (1, 2)
)", path));
    }

    // a table that does not match its records is refused, naming the archive
    std::string bytes = slurp(path);
    const std::size_t at = bytes.find("dup~2", bytes.find("dnamba/key.npy"));
    REQUIRE(at != std::string::npos);
    bytes[at + 4] = '3';  // "dup~3": same length; the member's CRC is now wrong
    put_file(dir + "/badkey.npz", bytes);
    try {
        io_detail::npz_for_each(dir + "/badkey.npz", [](io_detail::NpzMember&) {});
        FAIL("no error for badkey.npz");
    } catch (const Error& e) {
        CHECK_THAT(e.what(), Catch::Contains(dir + "/badkey.npz: member dnamba/key.npy: damaged member (CRC-32"));
    }

    // an archive from before the table: records only, no rows
    io_detail::NpzOptions old;
    old.row_table = false;
    {
        io_detail::NpzWriter w(dir + "/old.npz", old);
        w.begin(2);
        const auto v = block(0, 3, 2);
        w.write(rows[0], v.data(), 3);
        w.commit();
    }
    std::size_t n = 0;
    io_detail::npz_for_each(dir + "/old.npz", [&](io_detail::NpzMember& m) {
        CHECK_FALSE(m.has_row);
        CHECK(m.key == "chr1:1-3");
        ++n;
    }, &provenance);
    CHECK(n == 1);
    CHECK(provenance.empty());
}

TEST_CASE("npz reader: members parse through the same .npy parser, defects name archive and member", "[io]") {
    const std::string dir = io_dir("npz_read");
    const std::string path = dir + "/emb.npz";
    {
        auto w = make_embedding_writer(path);
        w->begin(3);
        const auto a = block(0, 2, 3), b = block(1, 4, 3);
        w->write(row_info("a", 2), a.data(), 2);
        w->write(row_info("b", 4), b.data(), 4);
        w->commit();
    }
    std::vector<std::string> keys;
    io_detail::npz_for_each(path, [&](io_detail::NpzMember& m) {
        keys.push_back(m.key);
        const std::uint64_t rows = m.key == "a" ? 2 : 4;
        CHECK((m.rows == rows && m.cols == 3));
        CHECK(m.data == block(m.key == "a" ? 0 : 1, rows, 3));
    });
    CHECK(keys == std::vector<std::string>{"a", "b"});

    // member b's header edited in place (same length): the archive is otherwise intact
    const std::string good = slurp(path);
    const std::size_t b_descr = good.find("'<f4'", good.find("'<f4'") + 1);
    REQUIRE(b_descr != std::string::npos);
    auto expect = [&](const std::string& name, std::string bytes, const std::string& what) {
        put_file(dir + "/" + name, bytes);
        try {
            io_detail::npz_for_each(dir + "/" + name, [](io_detail::NpzMember&) {});
            FAIL("no error for " + name);
        } catch (const Error& e) {
            CHECK_THAT(e.what(), Catch::StartsWith(dir + "/" + name + ": member b.npy: ") && Catch::Contains(what));
        }
    };
    std::string f8 = good;
    f8.replace(b_descr, 5, "'<f8'");
    expect("f8.npz", f8, "unsupported dtype '<f8'");
    std::string fortran = good;
    fortran.replace(good.find("False", b_descr), 5, "True ");
    expect("fortran.npz", fortran, "Fortran order");
    std::string taller = good;
    taller.replace(good.find("(4, 3)", b_descr), 6, "(5, 3)");
    expect("taller.npz", taller, "truncated data: shape (5, 3) needs 60 bytes");
}
