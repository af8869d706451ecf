# The actor with the built web app. Build context: the repository root.
# Stages use only the package registries (crates.io, npm, PyPI, Debian).

FROM rust:1.95-slim-bookworm AS rust-build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY engine-rust engine-rust
COPY actor actor
# The game profiles are compiled into the binary (actor/build.rs).
COPY games games
RUN cargo build --release -p actor

FROM node:20-bookworm-slim AS web-build
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web ./
RUN npm run build

FROM python:3.11-slim-bookworm
# ONNX Runtime's shared library comes from the PyPI wheel, as on a developer machine.
RUN pip install --no-cache-dir onnxruntime==1.31.1 \
    && cp "$(python -c 'import glob, onnxruntime, os; print(sorted(glob.glob(os.path.join(os.path.dirname(onnxruntime.__file__), "capi", "libonnxruntime.so.1.*")))[0])')" /usr/local/lib/ \
    && ln -s /usr/local/lib/libonnxruntime.so.1.* /usr/local/lib/libonnxruntime.so
ENV ORT_DYLIB_PATH=/usr/local/lib/libonnxruntime.so
WORKDIR /app
COPY --from=rust-build /src/target/release/actor /usr/local/bin/actor
COPY --from=web-build /src/web/dist /app/web/dist
EXPOSE 8080
# Inside the container the server must listen on all interfaces for the port mapping
# to reach it; compose publishes it on the host's loopback only.
CMD ["actor", "run", "--data-dir", "/data", "--host", "0.0.0.0", "--port", "8080", "--web-dir", "/app/web/dist", "--trainer-url", "http://trainer:8081"]
