"""Run with the chronos environment's python: build a real-size random Chronos-Bolt-small
checkpoint (``build DIR``) or time the library called directly (``time DIR N``)."""

from __future__ import annotations

import json
import statistics
import sys
import time

QUANTILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]


def build(out: str) -> None:
    import torch
    from chronos.chronos_bolt import ChronosBoltModelForForecasting
    from transformers import T5Config

    torch.manual_seed(0)
    config = T5Config(  # the dimensions of amazon/chronos-bolt-small (T5-small)
        d_model=512, d_kv=64, d_ff=2048, num_layers=6, num_decoder_layers=6, num_heads=8,
        feed_forward_proj="relu", decoder_start_token_id=0, pad_token_id=0, eos_token_id=1,
        architectures=["ChronosBoltModelForForecasting"], chronos_pipeline_class="ChronosBoltPipeline",
        chronos_config={"context_length": 2048, "input_patch_size": 16, "input_patch_stride": 16,
                        "prediction_length": 64, "quantiles": QUANTILES, "use_reg_token": True},
    )
    ChronosBoltModelForForecasting(config).save_pretrained(out)


def timed(ckpt: str, n: int) -> None:
    import torch
    from chronos import BaseChronosPipeline

    values = json.loads(sys.stdin.read())
    pipeline = BaseChronosPipeline.from_pretrained(ckpt, device_map="cpu", dtype=torch.float32)
    context = torch.tensor(values, dtype=torch.float32)

    def call() -> None:
        pipeline.predict_quantiles(context, prediction_length=24, quantile_levels=[0.1, 0.5, 0.9])

    call()
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        call()
        samples.append((time.perf_counter() - t) * 1000)
    print(statistics.median(samples))


if __name__ == "__main__":
    if sys.argv[1] == "build":
        build(sys.argv[2])
    else:
        timed(sys.argv[2], int(sys.argv[3]))
