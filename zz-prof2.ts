import { Harness } from './test/support/harness'
import { newIdentity } from './test/support/key-server'
const h = await Harness.start()
const tokens: string[] = []
for (let i = 0; i < 50; i++) tokens.push((await h.login(newIdentity())).body.dreamlake_token)
const path = process.argv[2] ?? '/auth/me'
const method = process.argv[3] ?? 'GET'
const body = method === 'PATCH' ? '{"name":"Bench User"}' : undefined
const req = (i: number) => new Request('http://dreamlake.test' + path, { method, body, headers: { authorization: `Bearer ${tokens[i % 50]}`, ...(body && { 'content-type': 'application/json' }) } })
for (let i = 0; i < 3000; i++) await (await h.app.handle(req(i))).text()
const n = 20000
const t0 = performance.now()
for (let i = 0; i < n; i++) { await (await h.app.handle(req(i))).text(); if (h.logs.length > 1000) h.logs.length = 0 }
console.log(method, path, ((performance.now() - t0) / n * 1000).toFixed(1), 'us/req')
h.close()
