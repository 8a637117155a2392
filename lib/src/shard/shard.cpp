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
#include "io/vcf.hpp"

namespace dnamba {
namespace {

// Tables with one header line: the header must agree, bodies are copied as they are.
std::uint64_t merge_tables(const std::vector<std::string>& inputs, const std::string& output) {
    AtomicOutputFile out(output);
    std::string first_header;
    std::uint64_t rows = 0;
    std::string line;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        std::ifstream in(inputs[i], std::ios::binary);
        if (!in) fail(ErrorKind::input, inputs[i] + ": cannot open (a shard output)");
        if (!std::getline(in, line)) fail(ErrorKind::input, inputs[i] + ": empty file, expected a header line");
        if (i == 0) {
            first_header = line;
            line += '\n';
            out.write(line.data(), line.size());
        } else if (line != first_header) {
            fail(ErrorKind::input, inputs[i] + ": header differs from " + inputs[0] +
                                       "'s (shards of one job must share model, options and format)");
        }
        std::uint64_t line_no = 1;
        while (std::getline(in, line)) {
            ++line_no;
            if (in.eof())  // a last line without '\n': a truncated file, not a finished shard
                fail(ErrorKind::input, inputs[i] + ":" + std::to_string(line_no) + ": last line is incomplete (no newline)");
            line += '\n';
            out.write(line.data(), line.size());
            ++rows;
        }
    }
    out.commit();
    return rows;
}

std::uint64_t merge_npy(const std::vector<std::string>& inputs, const std::string& output) {
    std::unique_ptr<EmbeddingWriter> writer;
    Eigen::Index channels = 0;
    for (const auto& path : inputs) {
        const EmbeddingTable t = read_embedding_table(path);
        if (!writer) {
            channels = t.X.cols();
            writer = make_embedding_writer(output);
            writer->begin(static_cast<std::size_t>(channels));
        } else if (t.X.cols() != channels) {
            fail(ErrorKind::input, path + ": " + std::to_string(t.X.cols()) + " channels, but " + inputs[0] + " has " +
                                       std::to_string(channels));
        }
        for (Eigen::Index r = 0; r < t.X.rows(); ++r)
            writer->write(t.rows[static_cast<std::size_t>(r)], t.X.row(r).data(), 1);
    }
    writer->commit();
    return writer->rows_written();
}

// Per-position archives. A single run de-duplicates repeated names with "~N" suffixes across
// the whole input; a shard did so only within itself. A key "base~N" whose base already
// occurred in the same shard is such a suffix: give the writer the original name back so
// that it numbers the repeats over all shards, as a single run does.
std::uint64_t merge_npz(const std::vector<std::string>& inputs, const std::string& output) {
    auto writer = make_embedding_writer(output);
    bool begun = false;
    std::uint64_t channels = 0;
    for (const auto& path : inputs) {
        std::unordered_map<std::string, bool> seen;
        io_detail::npz_for_each(path, [&](io_detail::NpzMember& m) {
            if (!begun) {
                channels = m.cols;
                writer->begin(static_cast<std::size_t>(channels));
                begun = true;
            } else if (m.cols != channels) {
                fail(ErrorKind::input, path + ": member " + m.key + " has " + std::to_string(m.cols) +
                                           " channels, but " + inputs[0] + " has " + std::to_string(channels));
            }
            RowInfo row;
            row.name = m.key;
            const auto tilde = m.key.rfind('~');
            if (tilde != std::string::npos && tilde + 1 < m.key.size() &&
                m.key.find_first_not_of("0123456789", tilde + 1) == std::string::npos && seen.count(m.key.substr(0, tilde)))
                row.name = m.key.substr(0, tilde);
            seen[m.key] = true;
            writer->write(row, m.data.data(), static_cast<std::size_t>(m.rows));
        });
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
