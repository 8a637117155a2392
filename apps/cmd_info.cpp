// `dnamba info`: describe a checkpoint.
#include <cstdio>

#include "commands.hpp"
#include "dnamba/model.hpp"

namespace dnamba::cli {

int cmd_info(int argc, char** argv) {
    std::string model_dir;
    bool quiet = false;
    po::options_description desc("options");
    add_model_option(desc, model_dir);
    add_common_options(desc, quiet);
    po::positional_options_description positional;
    positional.add("model", 1);
    if (!parse_command_line(argc, argv, desc, "usage: dnamba info --model DIR", &positional)) return 0;
    const std::string given = model_dir;
    model_dir = resolve_model(model_dir);

    const Model m = load_model(model_dir);
    const ModelConfig& c = m.config;
    auto yes = [](bool b) { return b ? "yes" : "no"; };
    if (given != model_dir) std::printf("model            %s (%s)\n", given.c_str(), model_dir.c_str());
    else std::printf("model            %s\n", model_dir.c_str());
    std::printf("layout           %s\n", layout_name(c.layout));
    std::printf("d_model          %d%s\n", c.d_model, c.rcps ? " (x2 channels: RC-equivariant)" : "");
    std::printf("n_layer          %d\n", c.n_layer);
    std::printf("d_inner          %d\n", c.d_inner);
    std::printf("d_state          %d\n", c.d_state);
    std::printf("d_conv           %d\n", c.d_conv);
    std::printf("dt_rank          %d\n", c.dt_rank);
    std::printf("vocab_size       %d\n", c.vocab_size);
    std::printf("bidirectional    %s", yes(c.bidirectional));
    if (c.bidirectional)
        std::printf(" (combine %s, reverse projections %s)", combine_name(c.combine),
                    c.weight_tie ? "tied" : "untied");
    std::printf("\n");
    std::printf("rcps             %s\n", yes(c.rcps));
    std::printf("norm             %s, eps %g\n", c.norm == NormKind::rms ? "RMSNorm" : "LayerNorm", c.norm_eps);
    std::printf("fused_add_norm   %s%s\n", yes(c.fused_add_norm),
                c.rcps && c.fused_add_norm ? " (RCPS halves swap at every block, as the fused reference does)" : "");
    std::printf("residual_in_fp32 %s\n", yes(c.residual_in_fp32));
    std::printf("proj bias        %s\n", yes(c.proj_bias));
    std::printf("conv bias        %s\n", yes(c.conv_bias));
    std::printf("lm_head          %s\n", !has_lm_head(m) ? "none (embeddings only)" : m.weights.lm_head_tied ? "tied to the embedding" : "separate");
    std::printf("parameters       %lld\n", static_cast<long long>(m.parameter_count));
    std::printf("tensor dtypes   ");
    for (const auto& [name, count] : m.stored_dtypes) std::printf(" %s x%d", name.c_str(), count);
    std::printf("\n");
    for (const auto& note : m.notes) std::printf("note             %s\n", note.c_str());
    return 0;
}

}  // namespace dnamba::cli
