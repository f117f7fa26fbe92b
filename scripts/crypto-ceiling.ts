// The cryptographic ceiling of POST /auth/exchange on one core: how many (vuer-auth EdDSA verification
// + dreamlake HS256 signature) pairs per second jose does, with nothing else. Prints one JSON line.
// bun scripts/crypto-ceiling.ts [seconds=2]
import { exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT } from 'jose'
import { hs256Signer } from '../src/auth/dreamlake-token'

const seconds = Number(process.argv[2] ?? 2)
const { privateKey, publicKey } = await generateKeyPair('EdDSA', { extractable: true })
// the server imports the provider's key from a JWK once and reuses it, as here
const verifyKey = await importJWK({ ...(await exportJWK(publicKey)), alg: 'EdDSA' }, 'EdDSA')
const vuerToken = await new SignJWT({ sub: 'ceiling', username: 'ceiling', email: 'ceiling@example.com' })
	.setProtectedHeader({ alg: 'EdDSA', kid: 'k' })
	.setIssuedAt()
	.setExpirationTime('1h')
	.sign(privateKey)
// and signs with the very signer the server builds (its secret imported as an HMAC key once)
const signer = await hs256Signer({ secret: 's'.repeat(48), issuer: 'dreamlake', audience: 'dreamlake' })

async function pair() {
	const { payload } = await jwtVerify(vuerToken, verifyKey, { algorithms: ['EdDSA'], clockTolerance: 30, requiredClaims: ['exp'] })
	await signer.sign({ sub: payload.sub!, uid: '01a2144a-cdd8-72b0-b94a-939160d931ba', ver: 0, username: 'ceiling', exp: Math.floor(Date.now() / 1000) + 3600 })
}

for (let i = 0; i < 2000; i++) await pair() // warm up the JIT
let count = 0
const started = performance.now()
const deadline = started + seconds * 1000
while (performance.now() < deadline) {
	for (let i = 0; i < 100; i++) await pair()
	count += 100
}
const elapsed = (performance.now() - started) / 1000
console.log(JSON.stringify({ pairsPerSecond: Math.round(count / elapsed), microsecondsPerPair: Number(((elapsed / count) * 1e6).toFixed(1)) }))
