// embed_fasta: mean-pooled embeddings of every record of a FASTA, through libdnamba's public
// headers alone (lib/include/dnamba/). The same rows, byte for byte, as
//   dnamba embed --model MODEL --input IN.fa --output OUT.tsv --pool mean [--rc average] --device cpu
//
// usage: dnamba_example_embed MODEL_DIR IN.fa OUT.tsv [none|average]
#include <cstdio>
#include <exception>
#include <string>

#include "dnamba/embed.hpp"
#include "dnamba/engine.hpp"
#include "dnamba/error.hpp"
#include "dnamba/input.hpp"
#include "dnamba/io.hpp"
#include "dnamba/model.hpp"

int main(int argc, char** argv) {
    if (argc < 4 || argc > 5) {
        std::fprintf(stderr, "usage: %s MODEL_DIR IN.fa OUT.tsv [none|average]\n", argv[0]);
        return 2;
    }
    try {
        // 1. the model, and the CPU engine that runs it (the reference numerics)
        const dnamba::Model model = dnamba::load_model(argv[1]);
        const auto engine = dnamba::make_cpu_engine(model, dnamba::EngineOptions{});
        const dnamba::RcMode rc = dnamba::parse_rc(argc == 5 ? argv[4] : "none");

        // 2. the input: here whole records; regions, windows and reads are options of the same call
        dnamba::InputOptions input;
        input.path = argv[2];
        const auto source = dnamba::open_input(input);

        // 3. the writer: .tsv by the extension, written under a temporary name until commit()
        const auto writer = dnamba::make_embedding_writer(argv[3]);
        writer->begin(static_cast<std::size_t>(dnamba::embedding_channels(model.config, rc)));

        // read, compute, write: one record at a time (dnamba::embed_input runs the same steps
        // as a three-thread pipeline over packed batches, with the same results)
        dnamba::InputItem item;
        std::size_t rows = 0;
        while (source->next(item)) {
            const dnamba::Matrix per_position = dnamba::embed_sequence(*engine, model, item.seq, rc, false);
            const dnamba::Vector pooled = dnamba::pool_rows(per_position, dnamba::PoolMode::mean);
            writer->write(item.row, pooled.data(), 1);
            ++rows;
        }
        if (rows == 0) dnamba::fail(dnamba::ErrorKind::input, source->describe() + ": no records");
        writer->commit();
        std::fprintf(stderr, "embed_fasta: %zu row(s) of %s -> %s\n", rows, source->describe().c_str(), argv[3]);
        return 0;
    } catch (const dnamba::Error& e) {
        std::fprintf(stderr, "embed_fasta: error: %s\n", e.what());
        return dnamba::exit_code(e.kind());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "embed_fasta: internal error: %s\n", e.what());
        return 1;
    }
}
