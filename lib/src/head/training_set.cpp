// The training set of a head (see classify.hpp): labelled regions, their classes, their feature
// matrix from the model or from a precomputed embedding table.
#include <map>

#include "dnamba/classify.hpp"
#include "dnamba/error.hpp"

namespace dnamba {

Matrix feature_matrix(const InputOptions& input, const FeatureSpec& spec, Engine* engine, const Model* model,
                      const EmbedOptions& embed, std::size_t expected, const std::string& what) {
    std::vector<Matrix> parts;
    std::size_t rows = 0;
    extract_features(input, spec, engine, model, embed, [&](FeatureBatch& b) {
        parts.push_back(std::move(b.X));
        rows += b.rows.size();
    });
    if (rows != expected)
        fail(ErrorKind::input, what + ": " + std::to_string(rows) + " feature rows for " + std::to_string(expected) +
                                   " labelled regions");
    Matrix X(static_cast<Eigen::Index>(rows), parts.empty() ? 0 : parts.front().cols());
    Eigen::Index r = 0;
    for (const auto& p : parts) {
        X.middleRows(r, p.rows()) = p;
        r += p.rows();
    }
    return X;
}

LabelledRegions read_labelled_regions(const std::vector<std::string>& beds, int label_column, int group_column) {
    LabelledRegions out;
    for (const auto& bed : beds) {
        BedReader reader(bed);
        Region r;
        while (reader.next(r)) {
            auto column = [&](int c, const char* what) {
                if (c < 1 || static_cast<std::size_t>(c) > r.fields.size())
                    fail(ErrorKind::input, r.source + ": no column " + std::to_string(c) + " for the " + what +
                                               " (the line has " + std::to_string(r.fields.size()) + ")");
                return r.fields[static_cast<std::size_t>(c - 1)];
            };
            out.labels.push_back(column(label_column, "label"));
            if (group_column > 0) out.groups.push_back(column(group_column, "group"));
            out.regions.push_back(r);
        }
    }
    if (out.regions.empty()) fail(ErrorKind::input, "no regions in " + beds.front());
    return out;
}

ClassIndex index_classes(const std::vector<std::string>& labels, const std::string& origin, int label_column) {
    std::map<std::string, int> index;
    for (const auto& l : labels) index.emplace(l, 0);
    if (index.size() < 2)
        fail(ErrorKind::input, origin + ": column " + std::to_string(label_column) +
                                   " has a single label; a classifier needs at least two classes");
    ClassIndex out;
    for (auto& [name, i] : index) {
        i = static_cast<int>(out.classes.size());
        out.classes.push_back(name);
    }
    for (const auto& l : labels) out.y.push_back(index.at(l));
    return out;
}

std::vector<int> class_indices(const std::vector<std::string>& labels, const std::vector<std::string>& classes,
                               const std::string& origin) {
    std::map<std::string, int> index;
    for (std::size_t c = 0; c < classes.size(); ++c) index.emplace(classes[c], static_cast<int>(c));
    std::vector<int> y;
    for (const auto& l : labels) {
        const auto it = index.find(l);
        if (it == index.end()) fail(ErrorKind::input, origin + ": label '" + l + "' was not among the training classes");
        y.push_back(it->second);
    }
    return y;
}

Matrix join_embedding_table(const EmbeddingTable& t, const std::string& table_path, const LabelledRegions& set,
                            const std::string& bed, const Matrix& more) {
    if (t.rows.size() != set.regions.size())
        fail(ErrorKind::input, table_path + ": " + std::to_string(t.rows.size()) + " rows, but " + bed + " has " +
                                   std::to_string(set.regions.size()) + " regions");
    for (std::size_t i = 0; i < t.rows.size(); ++i) {
        const Region& r = set.regions[i];
        if (t.rows[i].chrom != r.chrom || t.rows[i].start != r.start)
            fail(ErrorKind::input, table_path + ": row " + std::to_string(i + 1) + " is " + t.rows[i].chrom + ":" +
                                       std::to_string(t.rows[i].start) + " but " + r.source + " is " + r.chrom + ":" +
                                       std::to_string(r.start) + " (embed the same BED in the same order)");
    }
    Matrix both(t.X.rows(), t.X.cols() + more.cols());
    both.leftCols(t.X.cols()) = t.X;
    if (more.cols()) both.rightCols(more.cols()) = more;
    return both;
}

}  // namespace dnamba
