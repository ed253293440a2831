"""Operations around a running server: deploying a workflow
(:mod:`~lgp_engine.ops.deploy`: checks; :mod:`~lgp_engine.ops.deploy_files`: the
Dockerfile, compose file and Kubernetes manifests; :mod:`~lgp_engine.ops.deploy_run`:
the local health check and the tools that apply them); the versions of a workflow's
code (:mod:`~lgp_engine.ops.versions`), anomaly detection and rollback
(:mod:`~lgp_engine.ops.anomaly`) and the incidents it records
(:mod:`~lgp_engine.ops.incidents`), in the project's database
(:mod:`~lgp_engine.ops.db`)."""
