"""One job of tests/test_distributed.py on the toy world, run by `torchrun --nproc_per_node N` (or alone): every
process writes what it computed and how many items it processed to OUT/JOB-rankR.* ."""
import json
import sys
from pathlib import Path


def main(job: str, out: Path) -> None:
    import torch
    from safetensors.torch import save_file

    from l2vkit import toyworld as tw
    from l2vkit.distributed import world

    torch.set_num_threads(1)
    rank, size = world()
    vlm, gen = tw.load_vlm(), tw.load_generator()
    counts = {"rank": rank, "world": size}
    if job == "extract":
        from l2vkit.vlm.extract import extract

        videos = [tw.render(tw.random_attributes(i), seed=i) for i in range(7)]
        result = extract(vlm, videos, cache_dir=out / "cache", progress=False)
        counts.update(computed=result.computed, cached=result.cached)
        tensors = {"visual_tokens": result.visual_tokens, "pooled": result.pooled}
    elif job == "data":
        import numpy as np

        from l2vkit.coupling import build_coupling_data

        attributes = [tw.random_attributes(i) for i in range(5)]
        videos = np.stack([tw.render(a, seed=i) for i, a in enumerate(attributes)])
        rows = []
        real = gen.encode
        gen.encode = lambda clips: (rows.append(len(clips)), real(clips))[1]
        memory = build_coupling_data(vlm, gen, videos, [tw.caption(a) for a in attributes], batch=2, progress=False)
        stored = build_coupling_data(vlm, gen, videos, [tw.caption(a) for a in attributes], batch=2, progress=False,
                                     out=out / "store")
        counts.update(rows=sum(rows) // 2, stored=len(stored), layout=stored.meta["token_layout"])
        def whole(field):  # a stored field is read row by row from its shards
            return (field if isinstance(field, torch.Tensor) else field[torch.arange(len(field))]).contiguous()

        tensors = {f"{kind}.{name}": whole(getattr(data, name))
                   for kind, data in (("memory", memory), ("stored", stored))
                   for name in ("latents", "targets", "local_tokens", "sigmas")}
    elif job == "fit":
        from l2vkit.coupling import fit, fit_coupling

        data = tw.toy_coupling_data(vlm, gen, 6, seed=0, progress=False)
        rows = []
        real = fit.training_batch

        def counting(*args, **kwargs):
            batch = real(*args, **kwargs)
            rows.append(len(batch["latents"]))
            return batch

        fit.training_batch = counting
        result = fit_coupling(vlm, gen, data, steps={"global": 3, "local": 2, "rho": 2}, batch_size=4,
                              rho_batch_size=2, width=32, mixer_depth=2, local_depth=1, heads=2, progress=False)
        counts.update(rows=sum(rows), history=result.history)
        tensors = {k: v.contiguous() for k, v in result.model.state_dict().items()}
    elif job in ("concepts", "concepts-fsdp"):
        from l2vkit.concepts import build_concept_cache, train_concepts
        from l2vkit.pairs import ContrastPair

        pairs = [ContrastPair("red", "blue", "colour", "attribute"), ContrastPair("desert", "snow", "scene", "scene")]
        coupling = tw.load_coupling(vlm=vlm, generator=gen)
        cache = build_concept_cache(gen, vlm, coupling, pairs, captions=tw.toy_captions, samples_per_pair=2,
                                    timesteps_per_sample=2, steps=4, progress=False)
        rows = []
        real = gen.velocity
        gen.velocity = lambda z, c, t: (rows.append(len(z)), real(z, c, t))[1]
        bank = train_concepts(gen, cache, pairs, steps=3, batch_per_pair=3, progress=False, fsdp=job.endswith("fsdp"))
        held = sum(p.to_local().numel() if hasattr(p, "to_local") else p.numel() for p in gen.transformer.parameters())
        counts.update(rows=sum(rows), history=bank.history, params_held=held)
        tensors = {name: bank[name].contiguous() for name in bank.pairs}
    else:
        raise SystemExit(f"unknown job {job}")
    save_file(tensors, str(out / f"{job}-rank{rank}.safetensors"))
    (out / f"{job}-rank{rank}.json").write_text(json.dumps(counts))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
