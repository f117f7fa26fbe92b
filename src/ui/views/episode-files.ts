// Files: by prefix, with download links and a preview of images and text.
import { api, path, query as qs, request, type Episode, type FileEntry, type Page } from '../api'
import { h, replace } from '../dom'
import { ago, bytes, exactTime } from '../format'
import type { Scope } from '../router'

const TEXT_TYPES = /^(text\/|application\/(json|x-ndjson|xml|yaml|x-yaml|toml|csv|javascript|x-sh|x-python))/
const TEXT_NAMES = /\.(txt|log|md|json|jsonl|ya?ml|toml|csv|tsv|py|sh|cfg|ini|xml)$/i
const PREVIEW_BYTES = 64 * 1024

export async function filesTab(episode: Episode, query: URLSearchParams, scope: Scope) {
	const all = await api<Page & { files: FileEntry[] }>(`${path('episodes', episode.id)}/files${qs({ pageSize: 1000 })}`, { signal: scope.signal })
	if (all.total === 0) return h('p', { class: 'empty' }, 'This episode has no files yet.')
	const prefixes = [...new Set(all.files.map((f) => f.prefix))].sort()
	const chosen = prefixes.includes(query.get('prefix') ?? '') ? query.get('prefix')! : ''
	const preview = h('div', { class: 'preview', data: { testid: 'preview' } })
	const table = h('table', { class: 'files' })
	const picker = h('select', { aria: { label: 'Prefix' } }, h('option', { value: '' }, `All prefixes (${all.total})`), prefixes.map((p) => h('option', { value: p, selected: p === chosen }, p)))
	const download = (file: FileEntry) => `${path('episodes', episode.id, 'files', file.id)}/download`
	// links and images may be sent to the bucket (S3_PRESIGNED_DOWNLOADS); the text preview's fetch stays here (a bucket answers no CORS)
	const linked = (file: FileEntry) => `${download(file)}?redirect=1`

	const show = async (file: FileEntry) => {
		if (file.contentType.startsWith('image/')) {
			replace(preview, h('h3', null, file.path), h('img', { src: linked(file), alt: file.filename }))
			return
		}
		if (TEXT_TYPES.test(file.contentType) || TEXT_NAMES.test(file.filename)) {
			replace(preview, h('p', { class: 'loading' }, 'Reading…'))
			const response = await request(download(file), { headers: { range: `bytes=0-${PREVIEW_BYTES - 1}`, accept: '*/*' }, signal: scope.signal })
			const text = new TextDecoder().decode(await response.arrayBuffer())
			replace(preview, h('h3', null, file.path), h('pre', { class: 'code-block' }, text), file.sizeBytes > PREVIEW_BYTES ? h('p', { class: 'muted' }, `The first ${bytes(PREVIEW_BYTES)} of ${bytes(file.sizeBytes)}.`) : null)
			return
		}
		replace(preview, h('p', { class: 'muted' }, `No preview for ${file.contentType}; download it instead.`))
	}
	const render = () => {
		scope.setQuery(new URLSearchParams(picker.value ? { prefix: picker.value } : {}))
		const files = all.files.filter((f) => !picker.value || f.prefix === picker.value)
		replace(
			table,
			h('thead', null, h('tr', null, h('th', null, 'Path'), h('th', { class: 'num' }, 'Size'), h('th', null, 'Type'), h('th', null, 'Uploaded'), h('th', null, ''))),
			h(
				'tbody',
				null,
				files.map((file) =>
					h(
						'tr',
						{ data: { testid: 'file-row' } },
						h('td', null, h('button', { type: 'button', class: 'link', title: 'Preview', onclick: () => void show(file).catch(() => replace(preview, h('p', { class: 'error' }, 'Could not preview this file.'))) }, file.path), file.description ? h('div', { class: 'muted' }, file.description) : null),
						h('td', { class: 'num' }, bytes(file.sizeBytes)),
						h('td', null, h('code', null, file.contentType)),
						h('td', null, h('time', { title: exactTime(file.uploadedAt) }, ago(file.uploadedAt))),
						h('td', null, h('a', { href: linked(file), download: file.filename }, 'Download')),
					),
				),
			),
		)
	}
	picker.addEventListener('change', render)
	render()
	const more = all.total > all.files.length ? h('p', { class: 'muted' }, `Showing the first ${all.files.length.toLocaleString()} of ${all.total.toLocaleString()} files.`) : null
	return h('div', null, h('div', { class: 'filters' }, picker), h('div', { class: 'table-wrap' }, table), more, preview)
}
