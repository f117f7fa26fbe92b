// How values read: times relative and exact, sizes in binary units, numbers at a useful precision.

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' })
const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
	['year', 365 * 24 * 3600],
	['month', 30 * 24 * 3600],
	['week', 7 * 24 * 3600],
	['day', 24 * 3600],
	['hour', 3600],
	['minute', 60],
	['second', 1],
]

export function ago(iso: string | null | undefined): string {
	if (!iso) return '—'
	const seconds = (Date.parse(iso) - Date.now()) / 1000
	if (!Number.isFinite(seconds)) return iso
	for (const [unit, size] of UNITS) if (Math.abs(seconds) >= size || unit === 'second') return relative.format(Math.round(seconds / size), unit)
	return iso
}

export function exactTime(iso: string | null | undefined): string {
	if (!iso) return ''
	const date = new Date(iso)
	return Number.isNaN(date.getTime()) ? iso : date.toLocaleString()
}

export function bytes(n: number): string {
	if (n < 1024) return `${n} B`
	const units = ['KiB', 'MiB', 'GiB', 'TiB']
	let value = n / 1024
	let unit = 0
	while (value >= 1024 && unit < units.length - 1) {
		value /= 1024
		unit++
	}
	return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`
}

const significant = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 5 })

export function number(value: unknown): string {
	if (typeof value !== 'number') return value === null || value === undefined ? '—' : String(value)
	if (Number.isInteger(value) && Math.abs(value) < 1e15) return value.toLocaleString()
	const abs = Math.abs(value)
	if (abs !== 0 && (abs < 1e-4 || abs >= 1e9)) return value.toExponential(3).replace(/\.?0+e/, 'e')
	return significant.format(value)
}

/** A parameter or metadata value as one line. */
export function value(v: unknown): string {
	if (typeof v === 'string') return v
	if (typeof v === 'number') return number(v)
	return JSON.stringify(v)
}

export const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString()} ${n === 1 ? one : many}`
