import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from 'bun:test'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KeyServer, newIdentity } from './support/key-server'
import { runCli, spawnServer, type ServerProcess } from './support/process'
import { sha256 } from './support/bytes'

setDefaultTimeout(60_000)

let keys: KeyServer
let dir: string
beforeAll(async () => {
	keys = await KeyServer.start()
	dir = mkdtempSync(join(tmpdir(), 'dreamlake-backup-'))
})
afterAll(() => {
	keys.stop()
	rmSync(dir, { recursive: true, force: true })
})


/** A signed-in client of a running server, with an episode to put files in. */
async function client(server: ServerProcess, username: string) {
	const identity = newIdentity({ sub: `backup|${username}`, username })
	const exchange = (await (await fetch(`${server.url}/auth/exchange`, { method: 'POST', headers: { authorization: `Bearer ${await keys.mint(identity)}` } })).json()) as {
		dreamlake_token: string
		namespace: { slug: string }
	}
	const auth = { authorization: `Bearer ${exchange.dreamlake_token}` }
	const episode = (await (await fetch(`${server.url}/namespaces/${exchange.namespace.slug}/projects/p/episodes`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'run' }) })).json()) as { id: string }
	return {
		auth,
		episode: episode.id,
		async upload(name: string, bytes: Uint8Array, prefix = '/') {
			const form = new FormData()
			form.set('prefix', prefix)
			form.set('checksum', sha256(bytes))
			form.set('sizeBytes', String(bytes.length))
			form.set('file', new Blob([bytes]), name)
			const response = await fetch(`${server.url}/episodes/${episode.id}/files`, { method: 'POST', headers: auth, body: form })
			expect(response.status).toBe(201)
			return (await response.json()) as { id: string; checksum: string }
		},
	}
}

describe('backup and restore with files', () => {
	it('backs up the database and the files beside a running server; a restore into a new folder serves every file with its checksum', async () => {
		const cwd = mkdtempSync(join(dir, 'live-'))
		const env = { VUER_AUTH_JWKS_URL: keys.jwksUrl }
		const server = await spawnServer(['--port', '0'], { cwd, env })
		const payloads = [crypto.getRandomValues(new Uint8Array(300_000)), new TextEncoder().encode('config: 1\n'), crypto.getRandomValues(new Uint8Array(10))]
		const uploaded: { id: string; checksum: string }[] = []
		let deletedFile: { id: string; checksum: string } | undefined
		const target = join(dir, 'backups', 'dreamlake-backup.db')
		try {
			const alice = await client(server, 'alice-backup')
			uploaded.push(await alice.upload('model.bin', payloads[0]!, '/models'))
			uploaded.push(await alice.upload('config.yaml', payloads[1]!))
			uploaded.push(await alice.upload('copy-of-config.yaml', payloads[1]!, '/copies')) // shares its bytes
			deletedFile = await alice.upload('deleted.bin', payloads[2]!)
			expect((await fetch(`${server.url}/episodes/${alice.episode}/files/${deletedFile.id}`, { method: 'DELETE', headers: alice.auth })).status).toBe(200)

			const backup = await runCli(['backup', target], { cwd })
			expect(backup.code).toBe(0)
			expect(backup.stdout).toContain('"files":3')
			// refuses to overwrite the copy or its files
			expect((await runCli(['backup', target], { cwd })).code).toBe(1)
		} finally {
			expect(await server.stop()).toBe(0)
		}
		expect(readdirSync(`${target}.files`).length).toBeGreaterThan(0)

		// the README's restore steps, into a new folder
		const restored = mkdtempSync(join(dir, 'restored-'))
		mkdirSync(join(restored, 'data'))
		cpSync(target, join(restored, 'data', 'dreamlake.db'))
		cpSync(`${target}.files`, join(restored, 'data', 'files'), { recursive: true })
		const again = await spawnServer(['--port', '0'], { cwd: restored, env })
		try {
			const alice = await client(again, 'alice-backup') // the same user signs in again (a new jwt-secret here)
			const list = (await (await fetch(`${again.url}/episodes/${alice.episode}/files`, { headers: alice.auth })).json()) as { files: { id: string; checksum: string; filename: string }[] }
			expect(list.files.map((f) => f.filename).sort()).toEqual(['config.yaml', 'copy-of-config.yaml', 'model.bin'])
			for (const file of uploaded) {
				const response = await fetch(`${again.url}/episodes/${alice.episode}/files/${file.id}/download`, { headers: alice.auth })
				expect(response.status).toBe(200)
				expect(sha256(new Uint8Array(await response.arrayBuffer()))).toBe(file.checksum)
			}
			// a deleted file came along too, and can still be restored, bytes and all
			expect((await fetch(`${again.url}/episodes/${alice.episode}/files/${deletedFile!.id}/restore`, { method: 'POST', headers: alice.auth })).status).toBe(200)
			const response = await fetch(`${again.url}/episodes/${alice.episode}/files/${deletedFile!.id}/download`, { headers: alice.auth })
			expect(sha256(new Uint8Array(await response.arrayBuffer()))).toBe(deletedFile!.checksum)
		} finally {
			expect(await again.stop()).toBe(0)
		}
	})

	it('hard-links the bytes when the backup is on the same file system: no second copy of a large file', async () => {
		const cwd = mkdtempSync(join(dir, 'links-'))
		const server = await spawnServer(['--port', '0'], { cwd, env: { VUER_AUTH_JWKS_URL: keys.jwksUrl } })
		const target = join(cwd, 'same-fs-backup.db')
		try {
			const bob = await client(server, 'bob-backup')
			const { checksum } = await bob.upload('big.bin', crypto.getRandomValues(new Uint8Array(65_536)))
			expect((await runCli(['backup', target], { cwd })).code).toBe(0)
			const original = statSync(join(cwd, 'data', 'files', checksum.slice(0, 2), checksum))
			const copy = statSync(join(`${target}.files`, checksum.slice(0, 2), checksum))
			expect(copy.ino).toBe(original.ino)
			expect(existsSync(target)).toBe(true)
		} finally {
			await server.stop()
		}
	})
})
