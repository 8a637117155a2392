// The one-pass selective scan for bf16 inputs and outputs (scan_one_pass.cuh; one file per
// element type keeps the build parallel).
#include "scan_one_pass.cuh"

namespace dnamba::kernels::scan_detail {

bool scan_one_pass_fits(const Scan<__nv_bfloat16>& a, int warps_per_channel) noexcept {
    return one_pass::fits(a, warps_per_channel);
}

Status scan_one_pass(const Scan<__nv_bfloat16>& a, int warps_per_channel) noexcept {
    return one_pass::run(a, warps_per_channel);
}

}  // namespace dnamba::kernels::scan_detail
