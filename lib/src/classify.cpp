// Features for classification heads (see classify.hpp).
#include "dnamba/classify.hpp"

#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "dnamba/error.hpp"
#include "dnamba/track.hpp"
#include "io/npy.hpp"
#include "pipeline/run_batched.hpp"

namespace dnamba {

FeatureSpec FeatureSpec::parse(const std::string& text) {
    FeatureSpec f;
    auto parse_k = [&](const std::string& k) {
        int v = 0;
        const auto r = std::from_chars(k.data(), k.data() + k.size(), v);
        if (r.ec != std::errc() || r.ptr != k.data() + k.size() || v < 1 || v > 8)
            fail(ErrorKind::usage, "--features " + text + ": k must be an integer from 1 to 8");
        return v;
    };
    if (text == "embedding") {
        f.embedding = true;
    } else if (text.rfind("kmer:", 0) == 0) {
        f.embedding = false;
        f.kmer = parse_k(text.substr(5));
    } else if (text.rfind("embedding+kmer:", 0) == 0) {
        f.embedding = true;
        f.kmer = parse_k(text.substr(15));
    } else {
        fail(ErrorKind::usage, "--features " + text + ": expected embedding, kmer:K or embedding+kmer:K");
    }
    return f;
}

std::string FeatureSpec::str() const {
    if (!kmer) return "embedding";
    return (embedding ? "embedding+kmer:" : "kmer:") + std::to_string(kmer);
}

void extract_features(const InputOptions& input, const FeatureSpec& spec, Engine* engine, const Model* model,
                      const EmbedOptions& embed, const std::function<void(FeatureBatch&)>& sink) {
    if (spec.embedding && (!engine || !model))
        fail(ErrorKind::usage, "embedding features need a model (--model)");
    auto source = open_input(input);
    struct Features {
        FeatureBatch batch;
        std::size_t unknown = 0;
    };
    std::size_t unknown = 0;
    // the pipeline of embed (pipeline/run_batched.hpp): read and batch, features on the compute
    // thread, the sink in input order on this one
    const pipeline::BatchBudget budget{embed.batch_tokens, embed.add_sep ? 1u : 0u, embed.queue_depth};
    pipeline::run_batched(
        *source, budget,
        [&](std::vector<InputItem>& items) {
            Features f;
            FeatureBatch& batch = f.batch;
            std::vector<std::string_view> seqs;
            for (const auto& it : items) {
                batch.rows.push_back(it.row);
                seqs.push_back(it.seq);
            }
            const Eigen::Index n = static_cast<Eigen::Index>(items.size());
            const Eigen::Index emb_cols = spec.embedding ? embedding_channels(model->config, embed.rc) : 0;
            const Eigen::Index k_cols = spec.kmer ? (Eigen::Index(1) << (2 * spec.kmer)) : 0;
            batch.X.resize(n, emb_cols + k_cols);
            if (spec.embedding) {
                const auto pooled =
                    embed_batch_pooled(*engine, *model, seqs, embed.pool, embed.rc, embed.add_sep, &f.unknown);
                for (Eigen::Index i = 0; i < n; ++i) batch.X.row(i).head(emb_cols) = pooled[static_cast<std::size_t>(i)];
            }
            if (spec.kmer) batch.X.rightCols(k_cols) = kmer_features(seqs, spec.kmer);
            return f;
        },
        [&](Features& f) {
            unknown += f.unknown;
            sink(f.batch);
        });
    warn_unknown_bases(unknown);
}

std::string model_fingerprint(const std::string& model_dir) {
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a 64
    for (const char* name : {"config.json", "model.safetensors"}) {
        const std::string path = model_dir + "/" + name;
        std::ifstream in(path, std::ios::binary);
        if (!in) fail(ErrorKind::model, path + ": cannot open");
        std::vector<char> buf(1 << 20);
        while (in) {
            in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
            for (std::streamsize i = 0; i < in.gcount(); ++i) {
                h ^= static_cast<unsigned char>(buf[static_cast<std::size_t>(i)]);
                h *= 1099511628211ull;
            }
        }
    }
    char out[17];
    std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
    return out;
}

namespace {

std::vector<std::string> split_tabs(const std::string& line) {
    std::vector<std::string> f;
    std::size_t s = 0, e;
    while ((e = line.find('\t', s)) != std::string::npos) {
        f.push_back(line.substr(s, e - s));
        s = e + 1;
    }
    f.push_back(line.substr(s));
    return f;
}

std::int64_t parse_int(const std::string& s, const std::string& where) {
    std::int64_t v = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size()) fail(ErrorKind::input, where + ": '" + s + "' is not an integer");
    return v;
}

RowInfo row_from(const std::vector<std::string>& f, std::size_t first, const std::string& where) {
    RowInfo r;
    r.name = f[first];
    r.chrom = f[first + 1];
    r.start = parse_int(f[first + 2], where);
    r.end = parse_int(f[first + 3], where);
    r.strand = f[first + 4].empty() ? '+' : f[first + 4][0];
    return r;
}

}  // namespace

EmbeddingTable read_embedding_table(const std::string& path) {
    EmbeddingTable t;
    const bool npy = path.size() > 4 && path.compare(path.size() - 4, 4, ".npy") == 0;
    if (!npy) {
        std::ifstream in(path);
        if (!in) fail(ErrorKind::input, path + ": cannot open");
        std::string line;
        if (!std::getline(in, line)) fail(ErrorKind::input, path + ": empty file");
        const auto header = split_tabs(line);
        if (header.size() < 6 || header[0] != "name" || header[5] != "e0")
            fail(ErrorKind::input, path + ": line 1 is not a dnamba embedding header (name chrom start end strand e0 ...)");
        const std::size_t C = header.size() - 5;
        std::vector<float> values;
        std::size_t line_no = 1;
        while (std::getline(in, line)) {
            ++line_no;
            if (line.empty()) continue;
            const auto f = split_tabs(line);
            const std::string where = path + ":" + std::to_string(line_no);
            if (f.size() != header.size())
                fail(ErrorKind::input, where + ": " + std::to_string(f.size()) + " columns, expected " +
                                           std::to_string(header.size()));
            t.rows.push_back(row_from(f, 0, where));
            for (std::size_t c = 0; c < C; ++c) {
                float v = 0;
                const auto& s = f[5 + c];
                const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
                if (r.ec != std::errc() || r.ptr != s.data() + s.size())
                    fail(ErrorKind::input, where + ": column e" + std::to_string(c) + " '" + s + "' is not a number");
                values.push_back(v);
            }
        }
        t.X = Eigen::Map<Matrix>(values.data(), static_cast<Eigen::Index>(t.rows.size()), static_cast<Eigen::Index>(C));
        return t;
    }
    // .npy (float32, C order, 2-D; the one .npy parser, io/npy.hpp, checks all of it and
    // that the data is all there) + names table
    std::ifstream in;
    const io_detail::NpyMatrixLayout layout = io_detail::npy_open_f32_matrix(path, in);
    const auto rows = static_cast<long>(layout.rows), cols = static_cast<long>(layout.cols);
    t.X.resize(rows, cols);
    if (!in.read(reinterpret_cast<char*>(t.X.data()), static_cast<std::streamsize>(sizeof(float) * rows * cols)))
        fail(ErrorKind::input, path + ": read failed");
    const std::string names = npy_names_path(path);
    std::ifstream nin(names);
    if (!nin) fail(ErrorKind::input, names + ": cannot open (the row names of " + path + ")");
    std::string line;
    std::getline(nin, line);
    std::size_t line_no = 1;
    while (std::getline(nin, line)) {
        ++line_no;
        if (line.empty()) continue;
        const auto f = split_tabs(line);
        const std::string where = names + ":" + std::to_string(line_no);
        if (f.size() < 6) fail(ErrorKind::input, where + ": expected index name chrom start end strand");
        t.rows.push_back(row_from(f, 1, where));
    }
    if (static_cast<long>(t.rows.size()) != rows)
        fail(ErrorKind::input, names + ": " + std::to_string(t.rows.size()) + " rows, but " + path + " has " +
                                   std::to_string(rows));
    return t;
}

std::size_t track_class_index(const std::vector<std::string>& classes, const std::string& name) {
    if (name.empty()) {
        if (classes.size() != 2)
            fail(ErrorKind::usage, "the head has " + std::to_string(classes.size()) + " classes: name the one to draw with --class");
        return 1;
    }
    for (std::size_t c = 0; c < classes.size(); ++c)
        if (classes[c] == name) return c;
    std::string known;
    for (const auto& c : classes) known += (known.empty() ? "" : ", ") + c;
    fail(ErrorKind::usage, "--class " + name + ": the classes are " + known);
}

std::uint64_t track_from_calls(const std::string& calls_path, const std::string& genome, const std::string& class_name,
                               const std::string& output) {
    (void)track_format_for_path(output);  // an unknown extension fails before any reading
    std::ifstream in(calls_path);
    if (!in) fail(ErrorKind::input, calls_path + ": cannot open");
    std::string line;
    if (!std::getline(in, line)) fail(ErrorKind::input, calls_path + ": empty file, expected a classify table");
    const auto header = split_tabs(line);
    const std::vector<std::string> classes = parse_calls_header(header, calls_path);
    const std::size_t column = 5 + track_class_index(classes, class_name);

    const IndexedFasta fasta(genome);
    std::vector<std::pair<std::string, std::int64_t>> sizes;
    for (const auto& n : fasta.names()) sizes.emplace_back(n, fasta.length(n));
    TrackWriter writer(output, sizes, "dnamba " + classes[column - 5]);
    std::uint64_t rows = 0, line_no = 1;
    while (std::getline(in, line)) {
        ++line_no;
        if (line.empty()) continue;
        const std::string where = calls_path + ":" + std::to_string(line_no);
        const auto f = split_tabs(line);
        if (f.size() != header.size())
            fail(ErrorKind::input, where + ": " + std::to_string(f.size()) + " columns, expected " + std::to_string(header.size()));
        const RowInfo r = row_from(f, 0, where);
        float p = 0;
        const auto& s = f[column];
        const auto parsed = std::from_chars(s.data(), s.data() + s.size(), p);
        if (parsed.ec != std::errc() || parsed.ptr != s.data() + s.size())
            fail(ErrorKind::input, where + ": column " + header[column] + " '" + s + "' is not a number");
        try {
            writer.add(r.chrom, r.start, r.end, p);
        } catch (const Error& e) {
            fail(e.kind(), where + ": " + e.what());
        }
        ++rows;
    }
    if (rows == 0) fail(ErrorKind::input, calls_path + ": no rows to draw");
    writer.commit();
    return rows;
}

}  // namespace dnamba
