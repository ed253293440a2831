"""Operations around a running server: deploying a workflow
(:mod:`~lgp_engine.ops.deploy`: checks; :mod:`~lgp_engine.ops.deploy_files`: the
Dockerfile, compose file and Kubernetes manifests; :mod:`~lgp_engine.ops.deploy_run`:
the local health check and the tools that apply them)."""
