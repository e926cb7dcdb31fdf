"""Starts the llama.cpp server embedded in the `xllamacpp` wheel on a loopback port.

Run by `cargo xtask engine` with the venv's Python:

    python serve.py MODEL_PATH SLOTS CONTEXT

Prints `listening <url>` on one line once the model is loaded and the server accepts
connections, then serves until its standard input closes (when the xtask that started it
exits, however it exits), so the engine never outlives the run that needed it.
"""

import sys

import xllamacpp


def main() -> None:
    model_path, slots, context = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    params = xllamacpp.CommonParams()
    params.model.path = model_path
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # the operating system picks a free port; the server reports it
    params.n_parallel = slots
    params.n_ctx = context * slots
    params.warmup = False
    server = xllamacpp.Server(params)
    print(f"listening {server.listening_address}", flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
