import { Database } from 'bun:sqlite'
import { rmSync, mkdirSync } from 'node:fs'
function run(layout: 'clustered' | 'heap', episodes: number) {
  rmSync('/tmp/dbt2', { recursive: true, force: true }); mkdirSync('/tmp/dbt2')
  const s = new Database('/tmp/dbt2/x.db', { create: true, strict: true })
  s.run('PRAGMA journal_mode=WAL'); s.run('PRAGMA synchronous=NORMAL'); s.run('PRAGMA temp_store=MEMORY'); s.run('PRAGMA wal_autocheckpoint=0')
  if (layout === 'clustered') s.run('CREATE TABLE l (episode_id INTEGER NOT NULL, sequence INTEGER NOT NULL, timestamp INTEGER NOT NULL, level INTEGER NOT NULL, message TEXT NOT NULL, metadata TEXT, PRIMARY KEY (episode_id, sequence)) WITHOUT ROWID')
  else { s.run('CREATE TABLE l (id INTEGER PRIMARY KEY, episode_id INTEGER NOT NULL, sequence INTEGER NOT NULL, timestamp INTEGER NOT NULL, level INTEGER NOT NULL, message TEXT NOT NULL, metadata TEXT)'); s.run('CREATE UNIQUE INDEX li ON l (episode_id, sequence)') }
  const ins = layout === 'clustered' ? s.prepare('INSERT INTO l (episode_id, sequence, timestamp, level, message, metadata) VALUES (?,?,?,?,?,?)') : s.prepare('INSERT INTO l (episode_id, sequence, timestamp, level, message, metadata) VALUES (?,?,?,?,?,?)')
  const b = s.prepare('BEGIN IMMEDIATE'), c = s.prepare('COMMIT')
  const seq = new Array(episodes + 1).fill(0)
  const msg = 'epoch 12 step 3400: loss=0.2345 acc=0.9123 lr=0.0001 grad_norm=1.234'
  let n = 0; const c0 = process.cpuUsage(); let e = 0
  for (let k = 0; k < 2000; k++) { b.run(); for (let i = 0; i < 40; i++) { e = (e % episodes) + 1; ins.run(e * 1000 + 7, seq[e]++, Date.now() * 1000, 1, msg, null) } c.run(); n += 40 }
  const cu = process.cpuUsage(c0)
  const pages = (s.query('PRAGMA page_count').get() as any).page_count
  s.close()
  return `${((cu.user + cu.system) / n).toFixed(1)} us/append, ${pages} pages`
}
for (let r = 0; r < 2; r++) for (const eps of [1, 64, 256]) for (const layout of ['clustered', 'heap'] as const) console.log(layout.padEnd(10), String(eps).padStart(3), 'episodes', run(layout, eps))
