import { Harness } from './test/support/harness'
import { newIdentity } from './test/support/key-server'
const h = await Harness.start()
const { body } = await h.login(newIdentity())
const token = body.dreamlake_token
const req = (path: string) => new Request('http://dreamlake.test' + path, { headers: { authorization: `Bearer ${token}` } })
for (let i = 0; i < 3000; i++) await (await h.app.handle(req('/auth/me'))).text()
const t0 = performance.now()
for (let i = 0; i < 50000; i++) { await (await h.app.handle(req('/auth/me'))).text(); if (h.logs.length > 1000) h.logs.length = 0 }
console.log(((performance.now() - t0) / 50).toFixed(1), 'us/req')
h.close()
