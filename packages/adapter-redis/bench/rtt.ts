import { Redis } from 'ioredis';
const r = new Redis('redis://127.0.0.1:6379');
const N = 20000;
async function main() {
  const sha = await r.script('LOAD', "return redis.call('SET', KEYS[1], ARGV[1])") as string;
  for (const mode of ['ping', 'evalsha', 'set', 'evalsha2']) {
    const t = performance.now();
    for (let i = 0; i < N; i++) {
      if (mode === 'ping') await r.ping();
      else if (mode === 'set') await r.set('rtt:x', String(i));
      else if (mode === 'evalsha') await r.evalsha(sha, 1, 'rtt:x', String(i));
      else { await r.evalsha(sha, 1, 'rtt:x', String(i)); await r.evalsha(sha, 1, 'rtt:y', String(i)); }
    }
    console.log(mode, Math.round(N / ((performance.now() - t) / 1000)), '/s');
  }
  r.disconnect();
}
void main();
