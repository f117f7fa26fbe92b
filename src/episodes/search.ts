/**
 * SQL for the episode repository's searches: a filter tree (episodes/filter.ts) as one WHERE
 * condition, and a key as an ORDER BY expression. Every value and every name from the caller is a
 * bound parameter of drizzle's `sql` template; nothing the caller sent is ever part of the SQL text.
 * Parameters are read from parameter_values and metrics from metric_summaries (db/schema/data.ts),
 * always within the projects of the caller's scope.
 */
import { sql, type SQL } from 'drizzle-orm'
import { episodes } from '../db/schema'
import type { Attribute, Filter, Key, Op, Stat, Value } from './filter'

/** The columns of metric_summaries each stat reads. */
const STAT_COLUMNS: Record<Stat, SQL> = {
	last: sql.raw('"last"'),
	min: sql.raw('"min"'),
	max: sql.raw('"max"'),
	count: sql.raw('"count"'),
	minStep: sql.raw('min_step'),
	maxStep: sql.raw('max_step'),
	minIndex: sql.raw('min_index'),
	maxIndex: sql.raw('max_index'),
}

const OPS: Record<Exclude<Op, '~'>, SQL> = { '=': sql.raw('='), '!=': sql.raw('!='), '<': sql.raw('<'), '<=': sql.raw('<='), '>': sql.raw('>'), '>=': sql.raw('>=') }

/** What a search runs within: the projects the caller may read, and when running episodes count as stale. */
export interface SearchScope {
	projectIds: number[]
	staleBefore: number
}

const inProjects = (scope: SearchScope) => sql`(${sql.join(
	scope.projectIds.map((id) => sql`${id}`),
	sql`, `,
)})`

/** When an episode last saw anything happen to it (episodes/model.ts, lastActivityOf). */
const active = sql`max(${episodes.updatedAt}, coalesce(${episodes.lastActivityAt}, 0))`

/** The filter as a condition on the outer `episodes` row. */
export function filterSql(filter: Filter, scope: SearchScope): SQL {
	switch (filter.kind) {
		case 'and':
			return sql`(${filterSql(filter.left, scope)} AND ${filterSql(filter.right, scope)})`
		case 'or':
			return sql`(${filterSql(filter.left, scope)} OR ${filterSql(filter.right, scope)})`
		case 'compare':
			return compareSql(filter.key, filter.op, filter.value, scope)
		case 'in': {
			const anyOf = sql`(${sql.join(
				filter.values.map((value) => compareSql(filter.key, '=', value, scope)),
				sql` OR `,
			)})`
			// a key the episode lacks matches nothing, `not in` included
			return filter.negated ? sql`(${present(filter.key, scope)} AND NOT ${anyOf})` : anyOf
		}
	}
}

/** Whether the episode has the key at all (a value for it to be compared). */
function present(key: Key, scope: SearchScope): SQL {
	if (key.kind === 'param') return sql`${episodes.id} IN (SELECT episode_id FROM parameter_values WHERE project_id IN ${inProjects(scope)} AND key = ${key.key})`
	if (key.kind === 'metric') return metricExists(key, sql`${STAT_COLUMNS[key.stat]} IS NOT NULL`)
	if (key.name === 'description') return sql`${episodes.description} IS NOT NULL`
	if (key.name === 'createdBy') return sql`${episodes.createdByName} IS NOT NULL`
	return sql`1`
}

function metricExists(key: Extract<Key, { kind: 'metric' }>, condition: SQL): SQL {
	return sql`EXISTS (SELECT 1 FROM metric_summaries m WHERE m.episode_id = ${episodes.id} AND m.track_name = ${key.track} AND m.key = ${key.key} AND m.deleted = 0 AND ${condition})`
}

function compareSql(key: Key, op: Op, value: Value, scope: SearchScope): SQL {
	if (key.kind === 'metric') return metricExists(key, sql`${STAT_COLUMNS[key.stat]} ${OPS[op as Exclude<Op, '~'>]} ${value.value as number}`)
	if (key.kind === 'param') return sql`${episodes.id} IN (SELECT episode_id FROM parameter_values WHERE project_id IN ${inProjects(scope)} AND key = ${key.key} AND ${paramCondition(op, value)})`
	return attributeSql(key.name, op, value, scope)
}

/** A parameter's stored value (column `value`) against a literal: numbers with numbers, text with text, true and false with their JSON. */
function paramCondition(op: Op, value: Value): SQL {
	if (value.type === 'boolean') return sql`value ${OPS[op as '=' | '!=']} CAST(${value.value ? 'true' : 'false'} AS BLOB)`
	if (value.type === 'number') {
		// numbers sort below all text and blobs: `< ''` keeps a greater-than to the numbers
		if (op === '>' || op === '>=') return sql`value ${OPS[op]} ${value.value} AND value < ''`
		return sql`value ${OPS[op as Exclude<Op, '~'>]} ${value.value}`
	}
	// text sorts from '' up to the first blob (x'')
	if (op === '~') return sql`value >= '' AND value < x'' AND value GLOB ${value.value}`
	// "0.0003" also finds the number 0.0003, as MLflow (which keeps parameters as text) users write it
	const number = numberOf(value.value)
	if (op === '=') return number === undefined ? sql`value = ${value.value}` : sql`value IN (${value.value}, ${number})`
	if (op === '!=') return number === undefined ? sql`value != ${value.value}` : sql`value NOT IN (${value.value}, ${number})`
	return sql`value ${OPS[op]} ${value.value} AND value < x''`
}

const numberOf = (text: string): number | undefined => (/^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : undefined)

const TEXT_COLUMNS = { name: episodes.name, description: episodes.description, createdBy: episodes.createdByName } as const

function attributeSql(name: Attribute, op: Op, value: Value, scope: SearchScope): SQL {
	if (name === 'name' || name === 'description' || name === 'createdBy') {
		const column = TEXT_COLUMNS[name]
		return op === '~' ? sql`${column} GLOB ${value.value}` : sql`${column} ${OPS[op]} ${value.value}`
	}
	if (name === 'createdAt' || name === 'updatedAt' || name === 'lastActivityAt') {
		const column = name === 'createdAt' ? sql`${episodes.createdAt}` : name === 'updatedAt' ? sql`${episodes.updatedAt}` : active
		return sql`${column} ${OPS[op as Exclude<Op, '~'>]} ${value.value}`
	}
	if (name === 'tags') {
		const has = op === '~' ? sql`EXISTS (SELECT 1 FROM json_each(${episodes.tags}) WHERE value GLOB ${value.value})` : sql`EXISTS (SELECT 1 FROM json_each(${episodes.tags}) WHERE value = ${value.value})`
		return op === '!=' ? sql`NOT ${has}` : has
	}
	const is = statusIs(value.value as string, scope.staleBefore)
	return op === '!=' ? sql`NOT ${is}` : is
}

/** The status shown: `stale` and `running` part the running episodes by their last activity. */
function statusIs(status: string, staleBefore: number): SQL {
	if (status === 'stale') return sql`(${episodes.status} = 'running' AND ${active} < ${staleBefore})`
	if (status === 'running') return sql`(${episodes.status} = 'running' AND ${active} >= ${staleBefore})`
	return sql`${episodes.status} = ${status}`
}

/** A key's value for the outer `episodes` row, to sort by (NULL when the episode lacks it). */
export function orderSql(key: Key, scope: SearchScope): SQL {
	if (key.kind === 'param') return sql`(SELECT value FROM parameter_values WHERE episode_id = ${episodes.id} AND key = ${key.key})`
	if (key.kind === 'metric') return sql`(SELECT ${STAT_COLUMNS[key.stat]} FROM metric_summaries m WHERE m.episode_id = ${episodes.id} AND m.track_name = ${key.track} AND m.key = ${key.key} AND m.deleted = 0)`
	switch (key.name) {
		case 'name':
			return sql`${episodes.name}`
		case 'description':
			return sql`${episodes.description}`
		case 'createdBy':
			return sql`${episodes.createdByName}`
		case 'createdAt':
			return sql`${episodes.createdAt}`
		case 'updatedAt':
			return sql`${episodes.updatedAt}`
		case 'lastActivityAt':
			return active
		case 'tags':
			return sql`${episodes.tags}`
		case 'status':
			return sql`CASE WHEN ${statusIs('stale', scope.staleBefore)} THEN 'stale' ELSE ${episodes.status} END`
	}
}
