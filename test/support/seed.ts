// Talks to a running server over HTTP as a client would, to put data in front of the dashboard.

export class Client {
	constructor(
		readonly url: string,
		readonly token: string,
	) {}

	/** A user of a `serve --dev` server: a stand-in vuer-auth token, exchanged for a dreamlake token. */
	static async devUser(url: string, username: string): Promise<Client & { namespace: string }> {
		const minted = (await (await fetch(`${url}/dev/vuer-auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username }) })).json()) as { token: string }
		const exchanged = (await (await fetch(`${url}/auth/exchange`, { method: 'POST', headers: { authorization: `Bearer ${minted.token}` } })).json()) as { dreamlake_token: string; namespace: { slug: string } }
		return Object.assign(new Client(url, exchanged.dreamlake_token), { namespace: exchanged.namespace.slug })
	}

	async call<T = any>(method: string, path: string, body?: unknown): Promise<T> {
		const response = await fetch(`${this.url}${path}`, {
			method,
			headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined && !(body instanceof FormData) && { 'content-type': 'application/json' }) },
			...(body !== undefined && { body: body instanceof FormData ? body : JSON.stringify(body) }),
		})
		const text = await response.text()
		if (!response.ok) throw new Error(`${method} ${path} → ${response.status} ${text}`)
		return JSON.parse(text) as T
	}

	episode(namespace: string, project: string, fields: Record<string, unknown>): Promise<{ id: string; name: string }> {
		return this.call('POST', `/namespaces/${namespace}/projects/${encodeURIComponent(project)}/episodes`, fields)
	}

	logs(id: string, lines: { level?: string; message: string; metadata?: Record<string, unknown> }[]) {
		const now = Date.now()
		return this.call('POST', `/episodes/${id}/logs`, { logs: lines.map((line, i) => ({ timestamp: new Date(now + i).toISOString(), level: line.level ?? 'info', message: line.message, ...(line.metadata && { metadata: line.metadata }) })) })
	}

	parameters(id: string, data: Record<string, unknown>) {
		return this.call('POST', `/episodes/${id}/parameters`, { data })
	}

	/** Appends `points` in batches of 10,000. */
	async track(id: string, name: string, points: Record<string, unknown>[]) {
		for (let i = 0; i < points.length; i += 10_000) await this.call('POST', `/episodes/${id}/tracks/${encodeURIComponent(name)}/append-batch`, { dataPoints: points.slice(i, i + 10_000) })
	}

	upload(id: string, name: string, bytes: Uint8Array<ArrayBuffer>, { prefix = '/', type = 'application/octet-stream' } = {}) {
		const form = new FormData()
		form.set('prefix', prefix)
		form.set('checksum', new Bun.CryptoHasher('sha256').update(bytes).digest('hex'))
		form.set('sizeBytes', String(bytes.length))
		form.set('file', new Blob([bytes], { type }), name)
		return this.call<{ id: string }>('POST', `/episodes/${id}/files`, form)
	}
}
