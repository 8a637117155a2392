// Shard plans and the merge of shard outputs (see dnamba/shard.hpp).
#include "dnamba/shard.hpp"

#include <sys/stat.h>

#include <fstream>
#include <map>
#include <unordered_map>

#include "io/embedding_table.hpp"
#include "dnamba/error.hpp"
#include "dnamba/io.hpp"
#include "dnamba/log.hpp"
#include "io/npz_reader.hpp"
#include "io/text_util.hpp"
#include "io/atomic_output.hpp"
#include "io/provenance.hpp"
#include "io/vcf.hpp"
#include "util/crc32.hpp"

namespace dnamba {
namespace {

// Shards of one job carry the same provenance (embed_provenance: dnamba version, model
// fingerprint, options); a shard made otherwise is refused, naming it. Shards from before
// provenance (none has any) are merged as before, with a warning.
void check_same_provenance(const std::vector<std::string>& inputs, std::size_t i, const std::string& first,
                           const std::string& provenance) {
    if (i == 0) {
        if (provenance.empty())
            log_warning(inputs[0] + ": the shard records no provenance (made by an older dnamba): merge cannot check "
                                    "that every shard comes from the same model and options");
        return;
    }
    const std::string diff = provenance_difference(first, provenance, inputs[i]);
    if (!diff.empty())
        fail(ErrorKind::input, inputs[i] + ": not made like " + inputs[0] + " (" + inputs[0] + " vs this shard: " + diff +
                                   "); the shards of one job must share dnamba version, model and options");
}

// The same shard under two names (a copy) is caught by its contents: row count and checksum.
class SeenContents {
public:
    void check(const std::vector<std::string>& inputs, std::size_t i, std::uint64_t rows, std::uint32_t crc) {
        if (rows == 0) return;
        const auto [it, fresh] = seen_.emplace(std::make_pair(rows, crc), i);
        if (!fresh)
            fail(ErrorKind::usage, inputs[i] + " holds the same rows as " + inputs[it->second] + " (" + std::to_string(rows) +
                                       " row(s), CRC-32 " + crc32_hex(crc) + "): the same shard given twice");
    }

private:
    std::map<std::pair<std::uint64_t, std::uint32_t>, std::size_t> seen_;
};

// Tables with one header line (after the "#dnamba" line, when there is one): the headers
// must agree, rows are copied as they are and the closing checksum is computed afresh.
std::uint64_t merge_tables(const std::vector<std::string>& inputs, const std::string& output) {
    AtomicOutputFile out(output);
    std::string first_header, first_provenance;
    std::uint64_t rows = 0;
    std::uint32_t crc = 0;
    SeenContents seen;
    std::string line;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        TableReader in(inputs[i], "a header line (a shard output)", true);
        check_same_provenance(inputs, i, first_provenance, in.provenance());
        if (i == 0) {
            first_header = in.header();
            first_provenance = in.provenance();
            line = first_provenance.empty() ? "" : k_provenance_line + first_provenance + "\n";
            line += first_header + "\n";
            out.write(line.data(), line.size());
        } else if (in.header() != first_header) {
            fail(ErrorKind::input, inputs[i] + ": header differs from " + inputs[0] +
                                       "'s (shards of one job must share model, options and format)");
        }
        std::uint64_t shard_rows = 0;
        while (in.next(line)) {
            line += '\n';
            out.write(line.data(), line.size());
            crc = crc32_update(crc, line.data(), line.size());
            ++shard_rows;
        }
        seen.check(inputs, i, shard_rows, in.rows_crc());
        rows += shard_rows;
    }
    if (!first_provenance.empty()) {
        line = provenance_end_line(rows, crc);
        out.write(line.data(), line.size());
    }
    out.commit();
    return rows;
}

std::uint32_t crc_of_rows(const std::vector<RowInfo>& rows, std::uint32_t crc) {
    for (const RowInfo& r : rows) {
        const std::string text = r.name + '\t' + r.chrom + '\t' + std::to_string(r.start) + '\t' + std::to_string(r.end) + r.strand;
        crc = crc32_update(crc, text.data(), text.size());
    }
    return crc;
}

std::uint64_t merge_npy(const std::vector<std::string>& inputs, const std::string& output) {
    std::unique_ptr<EmbeddingWriter> writer;
    Eigen::Index channels = 0;
    std::string first_provenance;
    SeenContents seen;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const std::string& path = inputs[i];
        const EmbeddingTable t = read_embedding_table(path);
        check_same_provenance(inputs, i, first_provenance, t.provenance);
        if (!writer) {
            channels = t.X.cols();
            first_provenance = t.provenance;
            writer = make_embedding_writer(output, first_provenance);
            writer->begin(static_cast<std::size_t>(channels));
        } else if (t.X.cols() != channels) {
            fail(ErrorKind::input, path + ": " + std::to_string(t.X.cols()) + " channels, but " + inputs[0] + " has " +
                                       std::to_string(channels));
        }
        seen.check(inputs, i, static_cast<std::uint64_t>(t.X.rows()),
                   crc_of_rows(t.rows, crc32_update(0, t.X.data(), sizeof(float) * static_cast<std::uint64_t>(t.X.size()))));
        for (Eigen::Index r = 0; r < t.X.rows(); ++r)
            writer->write(t.rows[static_cast<std::size_t>(r)], t.X.row(r).data(), 1);
    }
    writer->commit();
    return writer->rows_written();
}

// Per-position archives. A single run de-duplicates repeated names with "~N" suffixes across
// the whole input; a shard did so only within itself. The archive's row table gives each
// record its original name back, so that the writer numbers the repeats over all shards, as
// a single run does. Archives from before the table: a key "base~N" whose base already
// occurred in the same shard is such a suffix, and the row's coordinates are unknown (the
// whole-record convention: chrom = name, start 0, end = length, strand +).
std::uint64_t merge_npz(const std::vector<std::string>& inputs, const std::string& output) {
    std::unique_ptr<EmbeddingWriter> writer;
    std::string first_provenance, provenance;
    bool begun = false;
    std::uint64_t channels = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const std::string& path = inputs[i];
        std::unordered_map<std::string, bool> seen;
        bool warned = false;
        auto start = [&] {
            if (writer) return;
            first_provenance = provenance;
            writer = make_embedding_writer(output, first_provenance);
        };
        io_detail::npz_for_each(path, [&](io_detail::NpzMember& m) {
            start();
            if (!begun) {
                channels = m.cols;
                writer->begin(static_cast<std::size_t>(channels));
                begun = true;
            } else if (m.cols != channels) {
                fail(ErrorKind::input, path + ": member " + m.key + " has " + std::to_string(m.cols) +
                                           " channels, but " + inputs[0] + " has " + std::to_string(channels));
            }
            RowInfo row = m.row;
            if (!m.has_row) {
                if (!warned)
                    log_warning(path + ": no row table (made by an older dnamba): its rows get chrom = name, start 0, "
                                       "end = length in the merged archive");
                warned = true;
                row.name = m.key;
                const auto tilde = m.key.rfind('~');
                if (tilde != std::string::npos && tilde + 1 < m.key.size() &&
                    m.key.find_first_not_of("0123456789", tilde + 1) == std::string::npos && seen.count(m.key.substr(0, tilde)))
                    row.name = m.key.substr(0, tilde);
                row.chrom = row.name;
                row.start = 0;
                row.end = static_cast<std::int64_t>(m.rows);
                seen[m.key] = true;
            }
            writer->write(row, m.data.data(), static_cast<std::size_t>(m.rows));
        }, &provenance);
        start();
        check_same_provenance(inputs, i, first_provenance, provenance);
    }
    if (!begun) writer->begin(0);
    writer->commit();
    return writer->rows_written();
}

}  // namespace

std::vector<Shard> plan_shards(const InputOptions& input, const ShardLimits& limits) {
    if ((limits.bases == 0) == (limits.rows == 0))
        fail(ErrorKind::usage, "a shard plan needs either a base or a row limit per shard");
    InputOptions o = input;
    o.lengths_only = true;
    const bool by_bases = limits.bases > 0;
    const auto weight = [&](const InputItem& item) -> std::uint64_t { return by_bases ? item.bases : 1; };

    // pass 1: the total
    std::uint64_t total = 0, rows = 0;
    {
        auto source = open_input(o);
        InputItem item;
        while (source->next(item)) {
            total += weight(item);
            ++rows;
        }
    }
    if (rows == 0) fail(ErrorKind::input, input.path + ": no rows to plan (empty input, or every row filtered out)");
    const std::uint64_t limit = by_bases ? limits.bases : limits.rows;
    const std::uint64_t n = (total + limit - 1) / limit;

    // pass 2: cut where the running total reaches (k+1)*total/n (in 128-bit to avoid overflow)
    std::vector<Shard> shards;
    auto source = open_input(o);
    InputItem item;
    std::uint64_t running = 0, k = 0, row = 0;
    Shard current;
    bool open = false;
    while (source->next(item)) {
        if (!open) {
            current = Shard{};
            current.first_row = row;
            current.first_name = item.row.name;
            open = true;
        }
        running += weight(item);
        current.bases += item.bases;
        current.last_name = item.row.name;
        ++row;
        const auto reached = [&] {
            return static_cast<unsigned __int128>(running) * n >= static_cast<unsigned __int128>(k + 1) * total;
        };
        if (reached()) {
            current.end_row = row;
            shards.push_back(current);
            open = false;
            while (k < n && reached()) ++k;  // a long row may cover several targets
        }
    }
    if (open) {  // only when the input changed between the passes
        current.end_row = row;
        shards.push_back(current);
    }
    if (row != rows)
        fail(ErrorKind::input, input.path + ": the input changed while it was being planned (" + std::to_string(rows) +
                                   " rows, then " + std::to_string(row) + ")");
    return shards;
}

void write_shard_plan(const std::vector<Shard>& shards, const std::string& path) {
    AtomicOutputFile out(path);
    std::string text = "shard\tfirst_row\tend_row\trows\tbases\tfirst\tlast\n";
    for (std::size_t i = 0; i < shards.size(); ++i) {
        const Shard& s = shards[i];
        text += std::to_string(i) + "\t" + std::to_string(s.first_row) + "\t" + std::to_string(s.end_row) + "\t" +
                std::to_string(s.end_row - s.first_row) + "\t" + std::to_string(s.bases) + "\t" + s.first_name + "\t" +
                s.last_name + "\n";
        if (text.size() > (1u << 16)) {
            out.write(text.data(), text.size());
            text.clear();
        }
    }
    out.write(text.data(), text.size());
    out.commit();
}

std::uint64_t merge_shard_outputs(const std::vector<std::string>& inputs, const std::string& output) {
    if (inputs.empty()) fail(ErrorKind::usage, "no shard outputs to merge");
    const std::string ext = io_detail::lower_extension(output);
    // VCF shards (dnamba vep) may be any of .vcf, .vcf.gz, .bcf whatever the output's format
    const bool vcf = is_vcf_output(output);
    for (const auto& in : inputs) {
        if (vcf ? !is_vcf_output(in) : io_detail::lower_extension(in) != ext)
            fail(ErrorKind::usage, in + ": every shard output must have the output's extension (" +
                                       (vcf ? std::string(".vcf, .vcf.gz or .bcf") : ext) + ")");
    }
    // The same shard twice would duplicate its rows without a word (a glob plus a name, a typo).
    // Keyed by (device, inode), so thousands of shards cost one stat each; missing files are
    // reported by the reader.
    std::map<std::pair<dev_t, ino_t>, std::size_t> seen_files;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        struct stat st {};
        if (::stat(inputs[i].c_str(), &st) != 0) continue;
        const auto [it, fresh] = seen_files.emplace(std::make_pair(st.st_dev, st.st_ino), i);
        if (!fresh)
            fail(ErrorKind::usage, inputs[i] + " is given twice (shard " + std::to_string(it->second + 1) + " is " +
                                       inputs[it->second] + "); each shard output is merged once");
    }
    std::vector<std::string> all_inputs = inputs;
    if (ext == ".npy")
        for (const auto& in : inputs) all_inputs.push_back(npy_names_path(in));
    check_output_not_input(output, all_inputs);
    if (vcf) return vcf_concatenate(inputs, output);
    if (ext == ".tsv") return merge_tables(inputs, output);
    if (ext == ".npy") return merge_npy(inputs, output);
    if (ext == ".npz") return merge_npz(inputs, output);
    fail(ErrorKind::usage, output + ": unknown extension; merge writes .tsv, .npy, .npz, .vcf, .vcf.gz or .bcf");
}

}  // namespace dnamba
