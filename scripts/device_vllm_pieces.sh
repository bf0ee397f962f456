#!/usr/bin/env bash
# Download vLLM 0.24.0 and what the lent GPU image lacks of its and our needs (Python 3.12,
# manylinux x86_64), then tar and split them into pieces one device call can carry (50 MiB
# each, so that one piece and the ~10 MiB working tree stay under a call's 64 MiB). Output: .device-wheels/{whl,pieces}/ (ignored by git).
# The list was found by importing vLLM's engine, worker, Qwen2-VL model, TRL's vLLM generation,
# studies.cli and an MLflow sqlite run on the CPU machine and subtracting the image's packages
# (KINDS.md); extras vLLM lists but these paths never import (flashinfer, tilelang, cutlass
# DSL, quack, fastsafetensors, the API server's packages) stay behind.
# Found on the H100 (2026-12-07): openai 3.63 imports httpx2 (not in the image); vLLM hashes
# multimodal inputs with blake3; vLLM pins apache-tvm-ffi==0.1.9 but xgrammar 0.2.9 needs
# >=0.1.11 (load_lib_module(extra_lib_paths=)), so 0.1.15.post2 travels (vLLM ran with it);
# flashinfer stays behind and device_vllm.sh sets VLLM_USE_FLASHINFER_SAMPLER=0.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .device-wheels/whl && cd .device-wheels/whl
plat=""
for p in manylinux_2_35 manylinux_2_34 manylinux_2_31 manylinux_2_28 manylinux_2_27 manylinux_2_24 \
         manylinux_2_17 manylinux2014 manylinux1; do plat="$plat --platform ${p}_x86_64"; done
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    $plat -d . vllm==0.24.0 \
    cbor2==6.3.0 msgspec==0.23.0 pyzmq==27.3.0 openai==3.63.0 openai-harmony==0.0.8 \
    httpx2==2.17.0 httpcore2==2.17.0 truststore blake3==1.0.11 \
    pybase64==1.5.1 pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 \
    typing-inspection==0.4.5 cachetools==7.3.3 partial-json-parser==0.2.1.1.post7 \
    "llguidance>=1.7,<1.8" xgrammar==0.2.9 apache-tvm-ffi==0.1.15.post2 fastapi==0.165.0 \
    starlette==1.10.0 distro jiter sniffio==1.3.1 \
    trl==1.16.0 datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 \
    mlflow==3.17.2 mlflow-skinny==3.17.2 mlflow-tracing==3.17.2 sqlalchemy==2.1.9 alembic==1.20.1 \
    mako==1.4.3 sqlparse==0.6.1 databricks-sdk==0.167.0 google-auth==2.63.1 pyasn1==0.6.5 \
    pyasn1-modules==0.4.2 rsa opentelemetry-api==1.45.2 opentelemetry-sdk==1.45.2 \
    opentelemetry-proto==1.45.2 opentelemetry-semantic-conventions==0.66b2 \
    importlib-metadata==9.1.0 cryptography==50.0.2 cffi==2.1.1 pycparser==3.12 python-dotenv==1.2.4
cd .. && rm -rf pieces && mkdir pieces
tar cf - -C whl . | split -b 50M -d -a 1 - pieces/wheels.tar.
(cd pieces && sha256sum wheels.tar.* > pieces.sha256)
ls -la pieces
