// `baton-postgres`, the command earlier releases shipped inside @baton/postgres: kept for one
// release as an alias of `baton --backend postgres://…?schema=… migrate`.
import { main } from './cli.js';
import { processIo } from './io.js';

const io = processIo();
const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const command = argv.find((a, i) => !a.startsWith('--') && !(i > 0 && argv[i - 1]!.startsWith('--')));
io.err('baton-postgres is deprecated and will be removed in the next release: use `baton --backend postgres://…?schema=… migrate`.');
if (command !== 'migrate' && command !== 'status') {
  io.err('baton-postgres: only `migrate` and `status` remain; for the SQL itself use migrationSql() from @baton/postgres.');
  process.exit(2);
}
const url = new URL(flag('url') ?? process.env.DATABASE_URL ?? 'postgres://127.0.0.1:5432/postgres');
url.searchParams.set('schema', flag('schema') ?? 'baton');
main(['--backend', url.toString(), command === 'migrate' ? 'migrate' : 'stats'], io).then((code) => process.exit(code));
