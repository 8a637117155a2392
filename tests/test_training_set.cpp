// The training set of a head: labelled regions, classes, joined embedding tables (the library
// side of `dnamba train-head`; its CLI behaviour is in test_classify.cpp).
#include <catch2/catch.hpp>

#include "dnamba/classify.hpp"
#include "head/training_set.hpp"
#include "dnamba/error.hpp"
#include "test_util.hpp"

using namespace dnamba;

TEST_CASE("training set: labels and groups from BED columns, classes sorted, unknown labels refused",
          "[classify][head]") {
    const std::string dir = test::scratch_dir("training_set");
    test::write_file(dir + "/a.bed", "chr1\t0\t10\tenh\tg1\nchr1\t10\t20\tprom\tg2\n");
    test::write_file(dir + "/b.bed", "chr2\t5\t9\tenh\tg1\n");
    const LabelledRegions set = read_labelled_regions({dir + "/a.bed", dir + "/b.bed"}, 4, 5);
    REQUIRE(set.regions.size() == 3);
    CHECK(set.labels == std::vector<std::string>{"enh", "prom", "enh"});
    CHECK(set.groups == std::vector<std::string>{"g1", "g2", "g1"});
    CHECK(set.regions[2].chrom == "chr2");
    CHECK(set.regions[2].start == 5);
    const ClassIndex ci = index_classes(set.labels, dir + "/a.bed", 4);
    CHECK(ci.classes == std::vector<std::string>{"enh", "prom"});
    CHECK(ci.y == std::vector<int>{0, 1, 0});
    CHECK(class_indices({"prom", "enh"}, ci.classes, "test.bed") == std::vector<int>{1, 0});
    CHECK_THROWS_WITH(class_indices({"enh", "silencer"}, ci.classes, "test.bed"),
                      Catch::Contains("test.bed") && Catch::Contains("'silencer' was not among the training classes"));
    CHECK_THROWS_WITH(index_classes({"enh", "enh"}, "one.bed", 4),
                      Catch::Contains("one.bed: column 4 has a single label"));
    CHECK_THROWS_WITH(read_labelled_regions({dir + "/a.bed"}, 7, 0),
                      Catch::Contains("no column 7 for the label (the line has 5)"));
}

TEST_CASE("training set: an embedding table joins its regions in order, with more columns after it",
          "[classify][head]") {
    const std::string dir = test::scratch_dir("training_join");
    test::write_file(dir + "/a.bed", "chr1\t0\t10\tx\nchr1\t10\t20\ty\n");
    const LabelledRegions set = read_labelled_regions({dir + "/a.bed"}, 4, 0);
    EmbeddingTable t;
    t.rows.resize(2);
    t.rows[0].chrom = t.rows[1].chrom = "chr1";
    t.rows[0].start = 0;
    t.rows[1].start = 10;
    t.X = Matrix::Constant(2, 3, 1.5f);
    const Matrix more = Matrix::Constant(2, 2, -2.0f);
    const Matrix X = join_embedding_table(t, "emb.tsv", set, "a.bed", more);
    REQUIRE(X.rows() == 2);
    REQUIRE(X.cols() == 5);
    CHECK(X(1, 2) == 1.5f);
    CHECK(X(1, 3) == -2.0f);
    CHECK(join_embedding_table(t, "emb.tsv", set, "a.bed", Matrix()).cols() == 3);
    t.rows[1].start = 11;
    CHECK_THROWS_WITH(join_embedding_table(t, "emb.tsv", set, "a.bed", more),
                      Catch::Contains("emb.tsv: row 2 is chr1:11") && Catch::Contains("embed the same BED"));
    t.rows.pop_back();
    CHECK_THROWS_WITH(join_embedding_table(t, "emb.tsv", set, "a.bed", more),
                      Catch::Contains("emb.tsv: 1 rows, but a.bed has 2 regions"));
}
