# The trainer. Build context: the repository root.
FROM python:3.11-slim-bookworm
WORKDIR /app
COPY trainer /app/trainer
RUN pip install --no-cache-dir /app/trainer
# The per-game defaults ([trainer] of games/<name>/profile.toml): an installed package
# has no checkout around it to find them in, so say where they are.
COPY games /app/games
ENV CARTRIDGE_GAMES_DIR=/app/games
# The control API listens on all interfaces inside the compose network only; it is
# not published on the host (the actor proxies it under /api/trainer/).
CMD ["trainer", "train", "--data-dir", "/data", "--control-host", "0.0.0.0", "--control-port", "8081"]
