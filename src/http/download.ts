/** `attachment; filename="…"; filename*=UTF-8''…`: the plain name for old clients, the exact one for the rest. */
export function contentDisposition(filename: string): string {
	const plain = filename.replace(/[^\x20-\x7e]|["\\%]/g, '_')
	const exact = encodeURIComponent(filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
	return `attachment; filename="${plain}"; filename*=UTF-8''${exact}`
}
