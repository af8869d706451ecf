import { afterEach, describe, expect, it } from 'vitest';
import { ApiError, errorText, getGames, getTrainerConfig, normalizeConfig, patchTrainerConfig, postMove, send, setFetch } from './api';

type Call = { url: string; init: RequestInit };

/** A fetch that answers every call with `status` and `body`, recording the calls. */
function fakeFetch(status: number, body: string, calls: Call[] = []): typeof fetch {
  return (async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    return new Response(body, { status, headers: { 'Content-Type': 'application/json' } });
  }) as typeof fetch;
}

afterEach(() => setFetch((...a) => globalThis.fetch(...a)));

describe('send', () => {
  it('returns the parsed JSON and sends JSON bodies', async () => {
    const calls: Call[] = [];
    setFetch(fakeFetch(200, '{"action": 4, "policy": [], "value": 0.5, "model_version": null}', calls));
    const r = await postMove('tictactoe', [0], 50);
    expect(r.action).toBe(4);
    expect(calls[0].url).toBe('/api/move');
    expect(calls[0].init.method).toBe('POST');
    expect(JSON.parse(calls[0].init.body as string)).toEqual({ game: 'tictactoe', moves: [0], simulations: 50 });
  });

  it('sends the search when one is chosen', async () => {
    const calls: Call[] = [];
    setFetch(fakeFetch(200, '{"action": 4, "search": "gumbel"}', calls));
    const r = await postMove('tictactoe', [0], undefined, undefined, 'gumbel');
    expect(JSON.parse(calls[0].init.body as string)).toEqual({ game: 'tictactoe', moves: [0], search: 'gumbel' });
    expect(r.search).toBe('gumbel');
  });

  it('leaves simulations out when not given', async () => {
    const calls: Call[] = [];
    setFetch(fakeFetch(200, '{"action": 4}', calls));
    await postMove('tictactoe', []);
    expect(JSON.parse(calls[0].init.body as string)).toEqual({ game: 'tictactoe', moves: [] });
  });

  it("turns the actor's {error} into the message", async () => {
    setFetch(fakeFetch(400, '{"error": "move 2 (action 4) is illegal: cell b2 is already taken"}'));
    const err = await postMove('tictactoe', [4, 4]).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(400);
    expect(err.message).toBe('POST /api/move failed (400): move 2 (action 4) is illegal: cell b2 is already taken');
    expect(err.detail).toBe('move 2 (action 4) is illegal: cell b2 is already taken');
  });

  it("turns FastAPI's 422 detail list into words naming the field", async () => {
    const body = JSON.stringify({
      detail: [{ loc: ['body', 'learning_rate'], msg: 'Input should be less than or equal to 1', type: 'x' }],
    });
    setFetch(fakeFetch(422, body));
    const err = await patchTrainerConfig({ learning_rate: 5 }).catch((e) => e);
    expect(err.status).toBe(422);
    expect(err.message).toContain('learning_rate: Input should be less than or equal to 1');
  });

  it('says when the server cannot be reached', async () => {
    setFetch((async () => {
      throw new TypeError('Failed to fetch');
    }) as typeof fetch);
    const err = await getGames().catch((e) => e);
    expect(err.status).toBe(0);
    expect(err.message).toBe('cannot reach the server for GET /api/games (Failed to fetch)');
  });

  it('gives up after the timeout', async () => {
    setFetch(((_url: string, init: RequestInit) =>
      new Promise((_resolve, reject) => {
        init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
      })) as typeof fetch);
    const err = (await send('/api/health', { timeoutMs: 20 }).catch((e) => e)) as Error;
    expect(err.message).toBe('GET /api/health got no answer within 20 ms');
  });

  it('refuses an answer that is not JSON (an HTML page from a wrong server)', async () => {
    setFetch(fakeFetch(200, '<!doctype html><p>hi</p>'));
    await expect(send('/api/stats')).rejects.toThrow('answered with something that is not JSON');
  });

  it('does not paste an HTML error page into the message', async () => {
    setFetch(fakeFetch(502, '<html>Bad gateway</html>'));
    await expect(send('/api/stats')).rejects.toThrow(/failed \(502\): /);
    await expect(send('/api/stats')).rejects.not.toThrow(/html/);
  });
});

describe('trainer config', () => {
  it("reads the trainer's {config, live} answer", async () => {
    const body = {
      config: { learning_rate: 0.001, batch_size: 256, game: 'tictactoe' },
      live: { learning_rate: { type: 'float', min: 1e-6, max: 1 } },
    };
    setFetch(fakeFetch(200, JSON.stringify(body)));
    const c = await getTrainerConfig();
    expect(c.config.learning_rate).toBe(0.001);
    expect(c.live.learning_rate.max).toBe(1);
  });

  it('accepts a bare config object too', () => {
    expect(normalizeConfig({ learning_rate: 0.1 })).toEqual({ config: { learning_rate: 0.1 }, live: {} });
    expect(() => normalizeConfig([1])).toThrow('not a JSON object');
  });

  it("shows the trainer's own 422 words for a refused value", async () => {
    const body = { error: 'learning_rate must be a number in [1e-06, 1], got -1', field: 'learning_rate', allowed: { min: 1e-6, max: 1 } };
    setFetch(fakeFetch(422, JSON.stringify(body)));
    const err = (await patchTrainerConfig({ learning_rate: -1 }).catch((e) => e)) as ApiError;
    expect(err.status).toBe(422);
    expect(err.detail).toBe('learning_rate must be a number in [1e-06, 1], got -1');
  });
});

describe('errorText', () => {
  it('reads the shapes the actor and FastAPI use', () => {
    expect(errorText({ error: 'no' })).toBe('no');
    expect(errorText({ detail: 'trainer is paused' })).toBe('trainer is paused');
    expect(errorText({ detail: [{ msg: 'bad' }] })).toBe('bad');
    expect(errorText('x')).toBeNull();
    expect(errorText({})).toBeNull();
  });
});
