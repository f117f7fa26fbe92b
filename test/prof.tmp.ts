import { Harness } from '/work/main/test/support/harness'
import { newIdentity } from '/work/main/test/support/key-server'
const h = await Harness.start()
h.db.$client.run('PRAGMA wal_autocheckpoint = 0')
const users = await Promise.all(Array.from({ length: 64 }, async () => (await h.login(newIdentity())).body))
const eps = await Promise.all(users.map(async (u: any) => ({ t: u.dreamlake_token, ns: u.namespace.slug, id: (await h.call('POST', `/namespaces/${u.namespace.slug}/projects/bench/episodes`, { token: u.dreamlake_token, body: { name: 'run' } })).body.id })))
const line = JSON.stringify({ logs: [{ timestamp: '2026-08-12T10:30:00.123456Z', level: 'info', message: 'epoch 12 step 3400: loss=0.2345 acc=0.9123 lr=0.0001 grad_norm=1.234' }] })
const kinds: Record<string, (e: any) => Request> = {
  me: (e) => new Request('http://dreamlake.test/auth/me', { headers: { authorization: `Bearer ${e.t}` } }),
  log: (e) => new Request(`http://dreamlake.test/episodes/${e.id}/logs`, { method: 'POST', headers: { authorization: `Bearer ${e.t}`, 'content-type': 'application/json' }, body: line }),
  upsert: (e) => new Request(`http://dreamlake.test/namespaces/${e.ns}/projects/bench/episodes`, { method: 'POST', headers: { authorization: `Bearer ${e.t}`, 'content-type': 'application/json' }, body: '{"name":"run"}' }),
}
const which = (process.argv[2] ?? 'me,log,upsert').split(',')
for (const round of [0, 1, 2]) for (const k of which) {
  let n = 0; const t0 = performance.now(); const c0 = process.cpuUsage()
  while (performance.now() - t0 < 1500) { await Promise.all(eps.map(async (e) => { const r = await h.fetch(kinds[k]!(e)); const txt = await r.text(); if (r.status >= 300) throw new Error(k + " " + r.status + " " + txt) })); n += eps.length }
  const c = process.cpuUsage(c0); console.log(round, k, ((performance.now() - t0) * 1000 / n).toFixed(1), 'us/req wall', ((c.user + c.system) / n).toFixed(1), 'cpu', (c.system / n).toFixed(1), 'sys')
}
h.close()
