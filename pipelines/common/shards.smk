# Shared rules of the dnamba batch workflows: plan -> one dnamba job per shard -> merge ->
# (track) -> report. Included by pipelines/genome/Snakefile and pipelines/reads/Snakefile,
# which set, before `include:`:
#   OUT           output folder
#   INPUT         dict of named input files the plan and every shard read (e.g. fa, fai)
#   INPUT_ARGS    dnamba input options, formatted against those inputs ("-i {input.fa} ...")
#   PLAN_SIZE     "--shard-bases N" or "--shard-rows N"
#   TRACK_GENOME  the FASTA a track is drawn on, or None (reads: no track)
# Every dnamba output is written under a temporary name and renamed when complete, and
# Snakemake removes the outputs of a failed job: no partial file stands under a final name.
import csv
import os
import shlex
import sys

PIPELINES = os.path.dirname(os.path.dirname(os.path.abspath(workflow.snakefile)))
REPO = os.path.dirname(PIPELINES)


def _default_dnamba():
    built = os.path.join(REPO, "build", "dnamba")
    return built if os.access(built, os.X_OK) else "dnamba"


def _need(key):
    if key not in config or config[key] in (None, ""):
        raise WorkflowError(f"config: '{key}' is required (see pipelines/README in the main README, 'Running on a cluster')")
    return config[key]


DNAMBA = shlex.quote(str(config.get("dnamba") or _default_dnamba()))
PYTHON = shlex.quote(str(config.get("python") or sys.executable))
MODE = str(config.get("mode", "embed"))
if MODE not in ("embed", "classify"):
    raise WorkflowError(f"config: mode '{MODE}': expected embed or classify")
FORMAT = str(config.get("format", "tsv")) if MODE == "embed" else "tsv"
if FORMAT not in ("tsv", "npy", "npz"):
    raise WorkflowError(f"config: format '{FORMAT}': expected tsv, npy or npz")
TRACK_FORMAT = str(config.get("track_format", "bedgraph"))
if TRACK_FORMAT not in ("bedgraph", "bw"):
    raise WorkflowError(f"config: track_format '{TRACK_FORMAT}': expected bedgraph or bw")
DEVICE = str(config.get("device", "auto"))


include: "gpu.smk"  # GPU, GPU_SLOT


def _model_args():
    if MODE == "classify":  # pooling, rc and [SEP] come from the head; kmer-only heads need no model
        args = ["--head", str(_need("head"))] + (["-m", str(config["model"])] if config.get("model") else [])
    else:
        args = ["-m", str(_need("model")), "--pool", str(config.get("pool", "auto")), "--rc", str(config.get("rc", "none"))]
        if config.get("add_sep"):
            args.append("--add-sep")
    args += ["--device", DEVICE, "--precision", str(config.get("precision", "fp32"))]
    return " ".join(shlex.quote(a) for a in args)


MODEL_ARGS = _model_args()


# Files whose content changes a shard's output besides the data: the model's files (where
# `model` is a local folder) and the head. They are inputs of the shard rule, so that a model
# or head rewritten in place reruns the shards (Snakemake's mtime trigger); every option is a
# `params:` of the rule that passes it (the params trigger), so a changed setting reruns them.
def _model_files():
    files = {}
    m = config.get("model")
    if m and os.path.isdir(str(m)):
        files["model"] = sorted(os.path.join(str(m), f) for f in os.listdir(str(m))
                                if f == "config.json" or f.endswith(".safetensors"))
    if MODE == "classify" and config.get("head"):
        files["head"] = str(config["head"])
    return files


MODEL_FILES = _model_files()
# INPUT_ARGS with each {input.NAME} field replaced by that input's path: the exact options a job passes.
input_args = lambda wildcards, input: INPUT_ARGS.format(input=input)
SHARD_EXT = FORMAT
SHARD_FILES = lambda s: [f"{OUT}/shards/{s}.{SHARD_EXT}"] + ([f"{OUT}/shards/{s}.names.tsv"] if SHARD_EXT == "npy" else [])
# The rows of each shard, from the plan (a checkpoint: its output decides the shard jobs).
def plan_rows():
    with open(checkpoints.plan.get().output[0]) as f:
        return {f"shard-{int(r['shard']):05d}": f"{r['first_row']}:{r['end_row']}" for r in csv.DictReader(f, delimiter="\t")}


def shard_outputs(wildcards):
    return [f"{OUT}/shards/{s}.{SHARD_EXT}" for s in sorted(plan_rows())]


def shard_benchmarks(wildcards):
    return [f"{OUT}/benchmarks/{s}.tsv" for s in sorted(plan_rows())]


# Resources of a shard job: threads, memory (MB), runtime (minutes), and a GPU where the
# device is CUDA (`gpu` for local scheduling with --resources gpu=N; --gres for SLURM).
SHARD_RESOURCES = dict(mem_mb=int(config.get("mem_mb", 4000)), runtime=int(config.get("runtime", 60)), gpu=GPU)
_extra = (["--gres=gpu:1"] if GPU else []) + ([str(config["slurm_extra"])] if config.get("slurm_extra") else [])
if _extra:
    SHARD_RESOURCES["slurm_extra"] = " ".join(_extra)
if config.get("partition"):
    SHARD_RESOURCES["slurm_partition"] = str(config["partition"])
LIGHT_RESOURCES = dict(mem_mb=1000, runtime=30)


checkpoint plan:
    input: **INPUT
    output: f"{OUT}/plan.tsv"
    params: inputs=input_args, size=PLAN_SIZE
    log: f"{OUT}/logs/plan.log"
    resources: **LIGHT_RESOURCES
    shell: f"{DNAMBA} plan {{params.inputs}} {{params.size}} -o {{output}} 2> {{log}}"


rule shard:
    input: **INPUT, **MODEL_FILES, plan=f"{OUT}/plan.tsv"
    output: SHARD_FILES("{shard}")
    params: rows=lambda w: plan_rows()[w.shard], mode=MODE, model=MODEL_ARGS, inputs=input_args
    wildcard_constraints: shard=r"shard-\d{5}"
    threads: int(config.get("threads", 2))
    resources: **SHARD_RESOURCES
    log: f"{OUT}/logs/{{shard}}.log"
    benchmark: f"{OUT}/benchmarks/{{shard}}.tsv"
    # a job killed outright (SIGKILL: OOM killer, time limit) leaves dnamba's hidden
    # temporary file behind; the rerun clears it
    shell:
        f"rm -f {OUT}/shards/.{{wildcards.shard}}.*tmp.*; "
        f"{GPU_SLOT}{DNAMBA} {{params.mode}} {{params.model}} {{params.inputs}} --rows {{params.rows}} --threads {{threads}} "
        f"-o {{output[0]}} 2> {{log}}"


rule merge:
    input: shard_outputs
    output: [f"{OUT}/{'embeddings' if MODE == 'embed' else 'calls'}.{FORMAT}"] + ([f"{OUT}/embeddings.names.tsv"] if FORMAT == "npy" else [])
    log: f"{OUT}/logs/merge.log"
    resources: **LIGHT_RESOURCES
    shell: f"{DNAMBA} merge -o {{output[0]}} {{input}} 2> {{log}}"


if TRACK_GENOME is not None and MODE == "classify":
    rule track:
        input: calls=f"{OUT}/calls.tsv", genome=TRACK_GENOME
        output: f"{OUT}/track.{TRACK_FORMAT}"
        params: cls=("--class " + shlex.quote(str(config["class"]))) if config.get("class") else ""
        log: f"{OUT}/logs/track.log"
        resources: **LIGHT_RESOURCES
        shell: f"{DNAMBA} track --calls {{input.calls}} --genome {{input.genome}} {{params.cls}} -o {{output}} 2> {{log}}"


def report_inputs(wildcards):
    d = {"plan": f"{OUT}/plan.tsv", "benchmarks": shard_benchmarks(wildcards)}
    if MODE == "embed":
        d["data"] = f"{OUT}/embeddings.{FORMAT}"
    else:
        d["data"] = f"{OUT}/calls.tsv"
        if TRACK_GENOME is not None:
            d["track"] = f"{OUT}/track.{TRACK_FORMAT}"
    return d


class _Paths:  # INPUT as the {input.*} fields of INPUT_ARGS (lists space-joined, as Snakemake does)
    def __init__(self, d):
        for k, v in d.items():
            setattr(self, k, " ".join(v) if isinstance(v, list) else v)


# Provenance in the report: dnamba's version (asked at run time), fingerprints of the model's
# files and the head (report.py), and the options every shard job ran with.
def _provenance_args():
    args = ["--options", f"{MODE} {MODEL_ARGS} {INPUT_ARGS.format(input=_Paths(INPUT))}"]
    if MODEL_FILES.get("model"):
        args += ["--model-files"] + MODEL_FILES["model"]
    if "head" in MODEL_FILES:
        args += ["--head-file", MODEL_FILES["head"]]
    return " ".join(shlex.quote(a) for a in args)


rule report:
    input: unpack(report_inputs)
    output: summary=f"{OUT}/report/summary.tsv", page=f"{OUT}/report/summary.md", plot=f"{OUT}/report/{'pca' if MODE == 'embed' else 'track'}.png"
    params:
        data=(f"--embeddings {OUT}/embeddings.{FORMAT}" if MODE == "embed" else f"--calls {OUT}/calls.tsv")
        + (f" --track {OUT}/track.{TRACK_FORMAT}" if MODE == "classify" and TRACK_GENOME is not None else ""),
        title=shlex.quote(str(config.get("title", f"dnamba {MODE}"))),
        cls=("--class " + shlex.quote(str(config["class"]))) if MODE == "classify" and config.get("class") else "",
        provenance=_provenance_args(),
    log: f"{OUT}/logs/report.log"
    resources: **LIGHT_RESOURCES
    shell:
        f"{PYTHON} {PIPELINES}/common/report.py --mode {MODE} --plan {OUT}/plan.tsv {{params.data}} "
        f"--shard-logs {OUT}/benchmarks --outdir {OUT}/report --title {{params.title}} {{params.cls}} "
        f"--dnamba-version \"$({DNAMBA} --version)\" {{params.provenance}} 2> {{log}}"


def final_outputs():
    outs = [f"{OUT}/report/summary.tsv"]
    if MODE == "embed":
        outs.append(f"{OUT}/embeddings.{FORMAT}")
    else:
        outs.append(f"{OUT}/calls.tsv")
        if TRACK_GENOME is not None:
            outs.append(f"{OUT}/track.{TRACK_FORMAT}")
    return outs
