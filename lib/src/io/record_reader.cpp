// open_record_reader(): sequence records from FASTA, FASTQ, SAM, BAM or CRAM, the format
// detected from the content (through gzip/bgzip too), "-" being standard input.
//
// Detection peeks through an htslib hFILE (hts_detect_format2), so nothing is consumed and
// the same handle is read afterwards: that is what makes stdin and pipes work.
//   FASTA  regular files go to FastaReader (which opens the path itself); stdin, pipes and
//          other unseekable paths are read here on the already-open handle. Both readers
//          parse with the one FASTA grammar of io/fasta_grammar.hpp.
//   FASTQ  parsed here, line by line over BGZF (plain, gzip, bgzip), validated strictly.
//   SAM/BAM/CRAM  through sam_read1, with the read filter, orientation and alignment
//          coordinates. With regions (indexed BAM/CRAM only) the index iterator visits the
//          reads overlapping each region in the order given, so a read overlapping two regions
//          comes out twice. CRAM never looks its reference up on the network (REF_PATH).
// Truncation is an error, not a short read: a missing BGZF/CRAM end-of-file marker is checked
// at open for regular files and at the end of the stream for pipes (BGZF only).
// htslib's own stderr messages are switched off; every failure is one dnamba::Error naming
// the file and the record.
#include <htslib/bgzf.h>
#include <htslib/cram.h>
#include <htslib/hfile.h>
#include <htslib/hts.h>
#include <htslib/hts_log.h>
#include <htslib/kstring.h>
#include <htslib/sam.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dnamba/error.hpp"
#include "dnamba/input.hpp"
#include "dnamba/io.hpp"
#include "dnamba/log.hpp"
#include "io/hts_util.hpp"
#include "io/fasta_grammar.hpp"
#include "io/line_reader.hpp"
#include "io/text_util.hpp"
#include "dnamba/tokenizer.hpp"

namespace dnamba {

const char* input_format_name(InputFormat format) noexcept {
    switch (format) {
    case InputFormat::fasta: return "FASTA";
    case InputFormat::fastq: return "FASTQ";
    case InputFormat::sam: return "SAM";
    case InputFormat::bam: return "BAM";
    case InputFormat::cram: return "CRAM";
    }
    return "unknown";
}

namespace {

using io_detail::header_first_word;
using io_detail::is_blank_line;
using io_detail::LineReader;
using io_detail::skip_byte_order_mark;

// Printable rendering of the start of a line for error messages.
std::string snippet(std::string_view s) { return io_detail::printable(s, 24); }

std::string quoted(const std::string& name) { return "'" + name + "'"; }

// A whole sequence record (not an alignment): chrom = name, [0, length), forward strand.
void set_whole_record(InputRecord& record) {
    record.chrom = record.name;
    record.start = 0;
    record.end = static_cast<std::int64_t>(record.seq.size());
    record.strand = '+';
    record.is_alignment = false;
}

// ---- text records over io_detail::LineReader (plain, gzip, bgzip) ---------------------

// Shared state of the two text parsers: the file name, sticky errors, record count.
class TextRecordReader : public RecordReader {
public:
    TextRecordReader(std::unique_ptr<LineReader> lines, std::string display)
        : lines_ptr_(std::move(lines)), lines_(*lines_ptr_), display_(std::move(display)) {}
    [[nodiscard]] std::size_t records_skipped() const override { return 0; }

protected:
    [[noreturn]] void fail(const std::string& what) {
        error_ = display_ + ": " + what;
        throw Error(ErrorKind::input, error_);
    }
    void check_sticky() const {
        if (!error_.empty()) throw Error(ErrorKind::input, error_);
    }
    // "record 3 'name'" (or "record 3" before the name is known).
    std::string record_label(const std::string& name) const {
        return "record " + std::to_string(records_ + 1) + (name.empty() ? "" : " " + quoted(name));
    }
    // The next non-blank line (a UTF-8 byte-order mark allowed on line 1); false at the end.
    bool read_header_line(std::string_view& line) {
        for (;;) {
            if (!read_line(line, {})) return false;
            skip_byte_order_mark(line, lines_.line_no());
            if (!is_blank_line(line)) return true;
        }
    }

    // Next line; false at end; throws for corrupt compressed data.
    bool read_line(std::string_view& line, const std::string& name) {
        const auto s = lines_.read(line);
        if (s == LineReader::Status::line) return true;
        if (s == LineReader::Status::end) return false;
        if (s == LineReader::Status::truncated)
            fail("truncated file: the bgzip data ends without its end-of-file block after line " +
                 std::to_string(lines_.line_no()) + " (" +
                 (name.empty() ? "after record " + std::to_string(records_) : "in " + record_label(name)) + ")");
        if (lines_.compressed())
            fail("corrupt or truncated compressed data at line " + std::to_string(lines_.line_no() + 1) + " (" +
                 record_label(name) + "): the gzip/bgzip stream ended early or failed to decompress");
        fail("read error at line " + std::to_string(lines_.line_no() + 1) + " (" + record_label(name) +
             "): " + (errno ? std::strerror(errno) : "I/O error"));
    }

    std::unique_ptr<LineReader> lines_ptr_;
    LineReader& lines_;
    std::string display_;
    std::string error_;
    std::size_t records_ = 0;
};

// ---- FASTA on an open handle (stdin, pipes) --------------------------------------------

// The FASTA grammar (io/fasta_grammar.hpp, the same as FastaReader's) on a handle that is
// already open, its read errors worded like the FASTQ reader's.
class StreamFastaReader final : public TextRecordReader, private io_detail::FastaLines {
public:
    using TextRecordReader::TextRecordReader;
    [[nodiscard]] InputFormat format() const override { return InputFormat::fasta; }

    bool next(InputRecord& record) override {
        check_sticky();
        if (!io_detail::fasta_read_record(*this, records_, record.name, record.seq)) return false;
        ++records_;
        set_whole_record(record);
        return true;
    }

private:
    bool next_line(std::string_view& line, const std::string& record_name) override {
        return read_line(line, record_name);
    }
    void unread_line() override { lines_.push_back(); }
    [[nodiscard]] std::uint64_t line_number() const override { return lines_.line_no(); }
    [[noreturn]] void fail(const std::string& what) override { TextRecordReader::fail(what); }
};

// ---- an empty input ----------------------------------------------------------------------

class EmptyReader final : public RecordReader {
public:
    [[nodiscard]] bool next(InputRecord&) override { return false; }
    [[nodiscard]] InputFormat format() const override { return InputFormat::fasta; }
    [[nodiscard]] std::size_t records_skipped() const override { return 0; }
};

// ---- FASTA through FastaReader (regular files) -----------------------------------------

class FastaFileReader final : public RecordReader {
public:
    explicit FastaFileReader(const std::string& path) : reader_(path) {}
    [[nodiscard]] InputFormat format() const override { return InputFormat::fasta; }
    [[nodiscard]] std::size_t records_skipped() const override { return 0; }

    bool next(InputRecord& record) override {
        if (!reader_.next(rec_)) return false;
        record.name = std::move(rec_.name);
        record.seq = std::move(rec_.seq);
        set_whole_record(record);
        return true;
    }

private:
    FastaReader reader_;
    SequenceRecord rec_;
};

// ---- FASTQ -----------------------------------------------------------------------------

// Four-part records: '@name [comment]', sequence line(s), '+' (optionally repeating the
// name), quality line(s). A multi-line record's quality may be wrapped into at most as many
// lines as its sequence; with the usual one-line sequence the quality is exactly one line,
// so a short quality line is reported as a length mismatch rather than eating the next
// record's header (quality strings may start with '@').
class FastqReader final : public TextRecordReader {
public:
    using TextRecordReader::TextRecordReader;
    [[nodiscard]] InputFormat format() const override { return InputFormat::fastq; }

    bool next(InputRecord& record) override {
        check_sticky();
        std::string_view line;
        if (!read_header_line(line)) return false;
        const std::uint64_t header_line = lines_.line_no();
        if (line[0] != '@')
            fail("line " + std::to_string(header_line) + ": expected a FASTQ header line starting with '@'" +
                 (records_ == 0 ? std::string() : " after record " + std::to_string(records_)) + " but found '" +
                 snippet(line) + "'");
        std::string name = header_first_word(line);
        if (name.empty())
            fail("line " + std::to_string(header_line) + " (" + record_label({}) +
                 "): header has no name; expected '@name [comment]'");

        // Sequence lines up to the '+' line.
        std::string seq;
        std::size_t seq_lines = 0;
        for (;;) {
            if (!read_line(line, name))
                fail("truncated file: " + record_label(name) + " (line " + std::to_string(header_line) +
                     ") ends before its '+' line");
            if (!line.empty() && line[0] == '+') break;
            if (!line.empty() && line[0] == '@')
                fail("line " + std::to_string(lines_.line_no()) + " (" + record_label(name) +
                     "): expected sequence or the '+' line but found a new header '" + snippet(line) +
                     "' (are the '+' and quality lines missing?)");
            for (const char ch : line) {
                const auto c = static_cast<unsigned char>(ch);
                const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '.' || c == '-';
                if (!ok)
                    fail("line " + std::to_string(lines_.line_no()) + " (" + record_label(name) +
                         "): unexpected character '" + snippet(std::string_view(&ch, 1)) +
                         "' in the sequence; expected bases (letters)");
            }
            seq.append(line);
            ++seq_lines;
        }
        const std::uint64_t plus_line = lines_.line_no();
        if (line.size() > 1) {
            const std::string repeat = header_first_word(line);
            if (!repeat.empty() && repeat != name)
                fail("line " + std::to_string(plus_line) + " (" + record_label(name) + "): the '+' line names '" +
                     repeat + "', not the record's name");
        }

        // Quality: as many characters as bases, in at most seq_lines lines.
        std::size_t qual_length = 0;
        std::size_t qual_lines = 0;
        while (qual_length < seq.size() && qual_lines < seq_lines) {
            if (!read_line(line, name))
                fail("truncated file: " + record_label(name) + " (line " + std::to_string(header_line) +
                     ") ends before its quality line");
            for (const char ch : line) {
                const auto c = static_cast<unsigned char>(ch);
                if (c < 0x21 || c > 0x7e)
                    fail("line " + std::to_string(lines_.line_no()) + " (" + record_label(name) +
                         "): unexpected byte " + snippet(std::string_view(&ch, 1)) +
                         " in the quality string; expected printable characters '!'..'~'");
            }
            qual_length += line.size();
            ++qual_lines;
        }
        if (qual_length != seq.size())
            fail("line " + std::to_string(qual_lines ? lines_.line_no() : plus_line) + " (" + record_label(name) +
                 "): quality length " + std::to_string(qual_length) + " differs from sequence length " +
                 std::to_string(seq.size()));

        ++records_;
        record.name = std::move(name);
        record.seq = std::move(seq);
        set_whole_record(record);
        return true;
    }
};

// ---- SAM / BAM / CRAM ------------------------------------------------------------------

// CRAM decoding looks a missing reference up through REF_PATH, which by default is the EBI
// server (a slow network failure on an offline machine, or a download nobody asked for).
// Unless the user has set REF_PATH, point it at nothing: htslib then only looks for
// "./<md5>" and fails at once. This is process-wide (setenv).
void disable_remote_reference_lookup() {
    const char* ref_path = std::getenv("REF_PATH");
    if (ref_path == nullptr || *ref_path == '\0') ::setenv("REF_PATH", ":", 1);
}

class AlignmentReader final : public RecordReader {
public:
    AlignmentReader(htsFile* fp, const std::string& path, std::string display, InputFormat format,
                    const ReaderOptions& options, bool seekable)
        : file_(fp), fp_(fp), path_(path), display_(std::move(display)), format_(format), options_(options) {
        if (format_ == InputFormat::cram) {
            if (!options_.reference.empty() && hts_set_fai_filename(fp_, options_.reference.c_str()) != 0)
                fail(ErrorKind::input, display_ + ": cannot use --reference " + options_.reference +
                                           " for CRAM decoding");
        }
        header_.reset(sam_hdr_read(fp_));
        hdr_ = header_.get();
        if (!hdr_)
            fail(ErrorKind::input, display_ + ": cannot read the " + input_format_name(format_) +
                                       " header (truncated or corrupt file?)");
        if (seekable && hts_check_EOF(fp_) == 0)  // 3 (not applicable) for plain SAM
            fail(ErrorKind::input, display_ + ": the " + input_format_name(format_) +
                                       " end-of-file marker is missing: the file is truncated (or still being "
                                       "written); re-create or re-download it");
        if (format_ == InputFormat::sam) {  // for "line N" in messages
            const char* text = sam_hdr_str(hdr_);
            for (const char* p = text; p && *p; ++p) header_lines_ += *p == '\n';
        }
        record_.reset(bam_init1());
        b_ = record_.get();
        if (!b_) throw std::bad_alloc();
        if (!options_.regions.empty()) open_regions();
        // Read the first record now, so that a CRAM without its reference (or a corrupt first
        // block) fails when the input is opened, before any model work.
        pending_ = fetch();
    }

    ~AlignmentReader() override {
        if (!warned_noseq_ && no_seq_ > 0) warn_noseq();
    }
    AlignmentReader(const AlignmentReader&) = delete;
    AlignmentReader& operator=(const AlignmentReader&) = delete;

    [[nodiscard]] InputFormat format() const override { return format_; }
    [[nodiscard]] std::size_t records_skipped() const override { return skipped_; }

    bool next(InputRecord& record) override {
        if (!error_.empty()) throw Error(error_kind_, error_);
        for (;;) {
            if (!pending_ && !(pending_ = fetch())) {
                if (!warned_noseq_ && no_seq_ > 0) warn_noseq();
                if (!idx_) check_complete();
                return false;
            }
            pending_ = false;
            const bam1_core_t& c = b_->core;
            if (!keep(c)) {
                ++skipped_;
                continue;
            }
            if (c.l_qseq <= 0) {
                if (no_seq_++ == 0) first_no_seq_ = bam_get_qname(b_);
                continue;
            }
            record.name = bam_get_qname(b_);
            record.seq.resize(static_cast<std::size_t>(c.l_qseq));
            const std::uint8_t* s = bam_get_seq(b_);
            for (int i = 0; i < c.l_qseq; ++i) record.seq[static_cast<std::size_t>(i)] = seq_nt16_str[bam_seqi(s, i)];
            const bool reverse = (c.flag & BAM_FREVERSE) != 0;
            if (reverse && options_.orientation == ReadOrientation::original)
                record.seq = reverse_complement(record.seq);
            if ((c.flag & BAM_FUNMAP) == 0 && c.tid >= 0) {
                record.chrom = sam_hdr_tid2name(hdr_, c.tid);
                record.start = c.pos;
                record.end = bam_endpos(b_);
                record.strand = reverse ? '-' : '+';
            } else {
                record.chrom = "*";
                record.start = 0;
                record.end = 0;
                record.strand = '.';
            }
            record.is_alignment = true;
            return true;
        }
    }

private:
    // Throws, and remembers the error: every later next() throws the same (as FastaReader).
    [[noreturn]] void fail(ErrorKind kind, const std::string& message) {
        error_kind_ = kind;
        error_ = message;
        throw Error(kind, message);
    }

    bool keep(const bam1_core_t& c) const {
        const ReadFilter& f = options_.filter;
        if (f.skip_secondary && (c.flag & BAM_FSECONDARY)) return false;
        if (f.skip_supplementary && (c.flag & BAM_FSUPPLEMENTARY)) return false;
        if (f.skip_qcfail && (c.flag & BAM_FQCFAIL)) return false;
        if (f.skip_duplicate && (c.flag & BAM_FDUP)) return false;
        const bool unmapped = (c.flag & BAM_FUNMAP) != 0;
        if (f.skip_unmapped && unmapped) return false;
        if (!unmapped && static_cast<int>(c.qual) < f.min_mapq) return false;
        return true;
    }

    void warn_noseq() {
        warned_noseq_ = true;
        log_warning(display_ + ": " + std::to_string(no_seq_) +
                    " record(s) with no stored sequence (SEQ '*') skipped (first: " + quoted(first_no_seq_) + ")");
    }

    std::string index_hint() const {
        return format_ == InputFormat::cram ? std::string(".crai") : std::string(".bai/.csi");
    }

    void open_regions() {
        if (format_ == InputFormat::sam)
            fail(ErrorKind::usage, display_ + " is SAM: --region on reads needs an indexed BAM/CRAM (samtools sort "
                                              "-o reads.bam " + path_ + " && samtools index reads.bam), or drop "
                                              "--region");
        if (path_ == "-")
            fail(ErrorKind::usage, "--region needs an indexed BAM/CRAM file, not standard input");
        index_.reset(sam_index_load(fp_, path_.c_str()));
        idx_ = index_.get();
        if (!idx_)
            fail(ErrorKind::usage, path_ + " has no index (" + index_hint() + "): run samtools index " + path_ +
                                       ", or drop --region");
        // Check every region before reading any, so a typo fails before the work starts.
        for (const std::string& text : options_.regions) {
            if (text == "." || text == "*") continue;
            int tid = -1;
            hts_pos_t beg = 0, end = 0;
            if (sam_parse_region(hdr_, text.c_str(), &tid, &beg, &end, HTS_PARSE_THOUSANDS_SEP) != nullptr && tid >= 0)
                continue;
            const std::size_t colon = text.rfind(':');
            const std::string contig = colon == std::string::npos ? text : text.substr(0, colon);
            if (sam_hdr_name2tid(hdr_, text.c_str()) < 0 && sam_hdr_name2tid(hdr_, contig.c_str()) < 0) {
                std::string names;
                const int n = sam_hdr_nref(hdr_);
                for (int i = 0; i < n && i < 10; ++i) names += (i ? ", " : "") + std::string(sam_hdr_tid2name(hdr_, i));
                if (n > 10) names += ", ... (" + std::to_string(n) + " in all)";
                fail(ErrorKind::input, "--region " + text + ": contig '" + contig + "' is not in " + display_ +
                                           " (its contigs: " + (names.empty() ? "none" : names) + ")");
            }
            fail(ErrorKind::usage, "--region " + quoted(text) +
                                       ": cannot parse; expected CHROM, CHROM:START-END or CHROM:START (1-based)");
        }
    }

    // Next raw record into b_: true, or false at the end. Throws on corrupt data.
    bool fetch() {
        for (;;) {
            int r;
            if (idx_) {
                if (!itr_) {
                    if (region_ >= options_.regions.size()) return false;
                    const std::string& text = options_.regions[region_];
                    iterator_.reset(sam_itr_querys(idx_, hdr_, text.c_str()));
                    itr_ = iterator_.get();
                    if (!itr_)
                        fail(ErrorKind::input, display_ + ": cannot query region " + quoted(text) + " in the index");
                }
                r = sam_itr_next(fp_, itr_, b_);
                if (r == -1) {
                    iterator_.reset();
                    itr_ = nullptr;
                    ++region_;
                    continue;
                }
            } else {
                r = sam_read1(fp_, hdr_, b_);
                if (r == -1) return false;
            }
            if (r < -1) decode_failure();
            ++read_;
            last_name_ = bam_get_qname(b_);
            return true;
        }
    }

    // At the end of a whole file: did it end with its end-of-file marker? (Checked up front
    // for regular files; this catches a pipe cut at a block/container boundary.)
    void check_complete() {
        bool cut = false;
        if (format_ == InputFormat::cram)
            cut = cram_eof(fp_->fp.cram) == 2;
        else if (fp_->is_bgzf && bgzf_compression(fp_->fp.bgzf) == 2)
            cut = fp_->fp.bgzf->no_eof_block != 0;
        if (cut)
            fail(ErrorKind::input, display_ + ": the " + input_format_name(format_) +
                                       " data ends without its end-of-file marker after record " +
                                       std::to_string(read_) +
                                       (last_name_.empty() ? std::string() : " (" + quoted(last_name_) + ")") +
                                       ": the file is truncated");
    }

    [[noreturn]] void decode_failure() {
        std::string where = display_ + ": record " + std::to_string(read_ + 1);
        if (!last_name_.empty()) where += " (after " + quoted(last_name_) + ")";
        if (idx_ && region_ < options_.regions.size()) where += " in region " + quoted(options_.regions[region_]);
        switch (format_) {
        case InputFormat::cram:
            if (options_.reference.empty())
                fail(ErrorKind::usage, where + ": cannot decode: CRAM needs the reference it was made against: "
                                               "pass --reference FILE");
            fail(ErrorKind::input, where + ": cannot decode the CRAM data with --reference " + options_.reference +
                                           ": is it the reference the CRAM was made against? (or the file is "
                                           "truncated or corrupt)");
        case InputFormat::bam:
            fail(ErrorKind::input, where + ": truncated or corrupt BAM data");
        default:
            fail(ErrorKind::input, where + " (line " + std::to_string(header_lines_ + read_ + 1) +
                                       "): malformed SAM record (too few fields or a bad value), or corrupt "
                                       "compressed data");
        }
    }

    struct CloseFile { void operator()(htsFile* p) const { hts_close(p); } };
    struct FreeHeader { void operator()(sam_hdr_t* p) const { sam_hdr_destroy(p); } };
    struct FreeRecord { void operator()(bam1_t* p) const { bam_destroy1(p); } };
    struct FreeIndex { void operator()(hts_idx_t* p) const { hts_idx_destroy(p); } };
    struct FreeIterator { void operator()(hts_itr_t* p) const { hts_itr_destroy(p); } };
    // Owners first (destroyed last); the raw pointers below are their shorthands.
    std::unique_ptr<htsFile, CloseFile> file_;
    std::unique_ptr<sam_hdr_t, FreeHeader> header_;
    std::unique_ptr<bam1_t, FreeRecord> record_;
    std::unique_ptr<hts_idx_t, FreeIndex> index_;
    std::unique_ptr<hts_itr_t, FreeIterator> iterator_;
    htsFile* fp_;
    std::string path_;
    std::string display_;
    InputFormat format_;
    ReaderOptions options_;
    sam_hdr_t* hdr_ = nullptr;
    bam1_t* b_ = nullptr;
    hts_idx_t* idx_ = nullptr;
    hts_itr_t* itr_ = nullptr;
    std::size_t region_ = 0;
    bool pending_ = false;
    std::uint64_t read_ = 0;  // raw records read (before filtering)
    std::uint64_t header_lines_ = 0;  // SAM only
    std::string last_name_;
    std::size_t skipped_ = 0;
    std::size_t no_seq_ = 0;
    std::string first_no_seq_;
    bool warned_noseq_ = false;
    std::string error_;  // set once next() has thrown
    ErrorKind error_kind_ = ErrorKind::input;
};

// ---- detection -------------------------------------------------------------------------

// Owns an hFILE until it is handed to BGZF or htsFile.
struct HFileGuard {
    hFILE* hf = nullptr;
    ~HFileGuard() {
        if (hf) hclose_abruptly(hf);
    }
    hFILE* release() {
        hFILE* h = hf;
        hf = nullptr;
        return h;
    }
};

// What the first non-blank line of a text stream says it is: '>' FASTA, '@' FASTQ, 'E' for
// an empty (or all-blank) stream, 'X' for a read error, else 0. The line is pushed back, so
// the parser given `lines` next starts at it (the blank lines before it are skipped anyway).
char sniff_text(LineReader& lines, std::string& first_line) {
    std::string_view line;
    for (;;) {
        const auto s = lines.read(line);
        if (s != LineReader::Status::line) return s == LineReader::Status::end ? 'E' : 'X';  // 'X': error or cut
        skip_byte_order_mark(line, lines.line_no());
        if (!is_blank_line(line)) break;
    }
    first_line.assign(line);
    lines.push_back();
    return line[0] == '>' ? '>' : line[0] == '@' ? '@' : 0;
}

}  // namespace

std::unique_ptr<RecordReader> open_record_reader(const std::string& path, const ReaderOptions& options) {
    if (path.empty()) throw Error(ErrorKind::input, "empty input path (use '-' for standard input)");
    const bool is_stdin = path == "-";
    const std::string display = is_stdin ? "<stdin>" : path;
    bool regular = false;
    if (!is_stdin) {
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0)
            throw Error(ErrorKind::input, path + ": cannot open: " + std::strerror(errno));
        if (S_ISDIR(st.st_mode)) throw Error(ErrorKind::input, path + ": cannot open: " + std::strerror(EISDIR));
        regular = S_ISREG(st.st_mode);
    }
    if (!options.reference.empty()) {
        struct stat st {};
        if (::stat(options.reference.c_str(), &st) != 0)
            throw Error(ErrorKind::input, "--reference " + options.reference + ": cannot open: " + std::strerror(errno));
    }
    hts_set_log_level(HTS_LOG_OFF);

    HFileGuard guard;
    errno = 0;
    guard.hf = hopen(path.c_str(), "r");
    if (!guard.hf)
        throw Error(ErrorKind::input, display + ": cannot open: " + (errno ? std::strerror(errno) : "unknown error"));
    htsFormat fmt{};
    if (hts_detect_format2(guard.hf, is_stdin ? nullptr : path.c_str(), &fmt) < 0)
        throw Error(ErrorKind::input, display + ": cannot read: " + (errno ? std::strerror(errno) : "I/O error"));

    switch (fmt.compression) {
    case no_compression:
    case gzip:
    case bgzf:
    case custom:  // CRAM
        break;
    case bzip2_compression:
    case xz_compression:
    case zstd_compression: {
        const std::string tool = fmt.compression == bzip2_compression ? "bzip2"
                                 : fmt.compression == xz_compression  ? "xz"
                                                                      : "zstd";
        throw Error(ErrorKind::input, display + ": " + tool +
                                          "-compressed data is not supported (only gzip and bgzip); decompress it "
                                          "first, e.g. `" + tool + " -dc FILE | dnamba ... -i -`");
    }
    default:
        throw Error(ErrorKind::input, display + ": unsupported compression (" + hts_format_name(fmt) + ")");
    }

    const bool regions = !options.regions.empty();
    auto refuse_regions = [&](const char* format) {
        if (regions)
            throw Error(ErrorKind::usage, display + " is " + format +
                                              ": --region on reads needs an indexed BAM/CRAM (regions of a FASTA "
                                              "genome are fetched through its .fai index instead)");
    };
    // A bgzip file cut at a block boundary decompresses cleanly: check its end-of-file block.
    auto check_bgzf_eof = [&](BGZF* fp) {
        if (regular && fmt.compression == bgzf && bgzf_check_EOF(fp) == 0)
            throw Error(ErrorKind::input, display + ": the bgzip end-of-file marker is missing: the file is truncated; "
                                                    "re-create or re-download it");
    };

    InputFormat format;
    switch (fmt.format) {
    case fasta_format: format = InputFormat::fasta; break;
    case fastq_format: format = InputFormat::fastq; break;
    case sam: format = InputFormat::sam; break;
    case bam: format = InputFormat::bam; break;
    case cram: format = InputFormat::cram; break;
    case empty_format:
    case text_format: {
        // Text htslib does not classify (blank lines or a BOM before the first record,
        // headerless odd text): look at the first non-blank line ourselves.
        BGZF* fp = bgzf_hopen(guard.hf, "r");
        if (!fp) throw Error(ErrorKind::input, display + ": cannot read: " + (errno ? std::strerror(errno) : "I/O error"));
        guard.release();
        auto lines = std::make_unique<LineReader>(fp);
        check_bgzf_eof(fp);
        std::string first;
        const char kind = sniff_text(*lines, first);
        if (kind == 'E') {  // empty (or all blank): zero records, the caller decides
            refuse_regions("empty");
            return std::make_unique<EmptyReader>();
        }
        if (kind == 'X')
            throw Error(ErrorKind::input, display + ": corrupt or truncated compressed data at line " +
                                              std::to_string(lines->line_no() + 1) + " (before the first record)");
        if (kind == 0)
            throw Error(ErrorKind::input, display + ": not a recognised sequence format (expected FASTA, FASTQ, SAM, "
                                                    "BAM or CRAM); it starts with '" + snippet(first) + "'");
        refuse_regions(kind == '>' ? "FASTA" : "FASTQ");
        if (kind == '>' && regular) {
            lines.reset();  // closes fp; FastaReader reads the file from the start
            return std::make_unique<FastaFileReader>(path);
        }
        if (kind == '>') return std::make_unique<StreamFastaReader>(std::move(lines), display);
        return std::make_unique<FastqReader>(std::move(lines), display);
    }
    default: {
        std::string what = hts_format_name(fmt);
        if (fmt.format == unknown_format || fmt.format == binary_format) what = "binary data of an unknown format";
        throw Error(ErrorKind::input, display + ": not a sequence file: " + what +
                                          " (expected FASTA, FASTQ, SAM, BAM or CRAM)");
    }
    }

    if (format == InputFormat::fasta || format == InputFormat::fastq) {
        refuse_regions(input_format_name(format));
        BGZF* fp = bgzf_hopen(guard.hf, "r");
        if (!fp) throw Error(ErrorKind::input, display + ": cannot read: " + (errno ? std::strerror(errno) : "I/O error"));
        guard.release();
        auto lines = std::make_unique<LineReader>(fp);
        check_bgzf_eof(fp);
        if (format == InputFormat::fasta && regular) {
            lines.reset();  // closes fp; FastaReader opens the file itself
            return std::make_unique<FastaFileReader>(path);
        }
        if (format == InputFormat::fasta) return std::make_unique<StreamFastaReader>(std::move(lines), display);
        return std::make_unique<FastqReader>(std::move(lines), display);
    }

    if (format == InputFormat::cram) disable_remote_reference_lookup();
    htsFile* fp = hts_hopen(guard.hf, is_stdin ? "-" : path.c_str(), "r");
    if (!fp)
        throw Error(ErrorKind::input, display + ": cannot open as " + input_format_name(format) +
                                          " (truncated or corrupt file?)");
    guard.release();
    return std::make_unique<AlignmentReader>(fp, path, display, format, options, regular);
}

}  // namespace dnamba
