# GPU placement of shard jobs, shared by the workflows (included by common/shards.smk and
# variants/Snakefile):
#   GPU       1 when `device` is cuda... (the shard rules ask for resources gpu=GPU)
#   GPU_SLOT  with `device: cuda` (no card named), the prefix that runs a shard command on a GPU
#             of its own: common/gpu_slot.sh takes a free one (of `gpus`, default every GPU of
#             the machine) and makes it the job's only visible device; under SLURM, --gres=gpu:1
#             has already done so. Empty otherwise (`device: cuda:N` runs as given).
import os
import shlex

GPU = 1 if str(config.get("device", "auto")).startswith("cuda") else 0
GPU_SLOT = (shlex.quote(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(workflow.snakefile))), "common",
                                     "gpu_slot.sh"))
            + (f" --gpus {shlex.quote(str(config['gpus']))}" if config.get("gpus") not in (None, "") else "") + " -- "
            if str(config.get("device", "auto")) == "cuda" else "")
