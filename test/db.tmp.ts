import { openDatabase } from '../src/db/client'
import { migrateDatabase } from '../src/db/migrate'
import { rmSync } from 'node:fs'
function run(trig: boolean, sp: boolean, episodes: number, fk: boolean) {
rmSync('/tmp/dbt', { recursive: true, force: true })
const db = openDatabase('/tmp/dbt/x.db'); migrateDatabase(db); const s = db.$client
s.run('PRAGMA wal_autocheckpoint = 0')
if (!fk) s.run('PRAGMA foreign_keys = OFF')
if (!trig) s.run('DROP TRIGGER log_entries_summary')
s.run("INSERT INTO users (id, sub, created_at, updated_at) VALUES ('u','s',0,0)"); s.run("INSERT INTO namespaces (id, slug, owner_id, created_at) VALUES ('n','n','u',0)")
s.run("INSERT INTO projects (id, namespace_id, name, slug, created_at, updated_at) VALUES (1,'n','p','p',0,0)")
for (let e = 1; e <= 64; e++) s.run(`INSERT INTO episodes (id, project_id, name, created_at, updated_at) VALUES (${e * 1000},1,'e${e}',0,0)`)
const ins = s.prepare('INSERT INTO log_entries (episode_id, sequence, timestamp, level, message, metadata) VALUES (?,?,?,?,?,?)')
const b = s.prepare('BEGIN IMMEDIATE'), c = s.prepare('COMMIT'), sv = s.prepare('SAVEPOINT write'), rl = s.prepare('RELEASE write')
const seq = new Array(65).fill(0)
const msg = 'epoch 12 step 3400: loss=0.2345 acc=0.9123 lr=0.0001 grad_norm=1.234'
let n = 0; const t0 = performance.now(); const c0 = process.cpuUsage()
while (performance.now() - t0 < 1000) {
  b.run()
  for (let i = 0; i < 64; i++) { const e = (i % episodes) + 1; if (sp) sv.run(); ins.run(e * 1000, seq[e]++, Date.now() * 1000, 1, msg, null); if (sp) rl.run() }
  c.run(); n += 64
}
const cu = process.cpuUsage(c0)
db.$client.close()
return ((cu.user + cu.system) / n)
}
const configs: [string, boolean, boolean, number, boolean][] = [['full 64 eps', true, true, 64, true], ['no trigger', false, true, 64, true], ['no savepoint', true, false, 64, true], ['no fk', true, true, 64, false], ['1 episode', true, true, 1, true], ['bare 1 ep', false, false, 1, false]]
const res: Record<string, number[]> = {}
for (let r = 0; r < 3; r++) for (const [name, ...a] of configs) (res[name] ??= []).push(run(...a))
for (const [k, v] of Object.entries(res)) console.log(k.padEnd(14), v.map((x) => x.toFixed(1)).join(' '), 'cpu us/append')
