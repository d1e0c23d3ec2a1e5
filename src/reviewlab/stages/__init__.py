"""One module per DVC stage, named like the stage: the only code that reads and writes a
stage's files. Each exposes ``run(params, [key], catalogue=None) -> Result``; dvc.yaml declares
its command, deps, params and outs (:mod:`reviewlab.stages.declared` reads them back)."""
