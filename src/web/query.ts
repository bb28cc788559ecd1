import { ApiError } from '../errors.js';

/**
 * Reading the dashboard's query strings. Anything malformed is a 400 page, never
 * a 500: a number that is not one, a value given twice, control characters, or
 * text longer than any real name.
 */
const MAX_VALUE = 200;

export type Query = Record<string, string | string[] | undefined>;

export function optionalText(query: Query, name: string): string | undefined {
  const value = query[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw ApiError.badRequest(`give ${name} once`);
  if (value.length > MAX_VALUE) throw ApiError.badRequest(`${name} is too long`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) throw ApiError.badRequest(`${name} holds control characters`);
  return value;
}

/** A page number from 1; past the last page reads as the last page. */
export function pageNumber(query: Query, pages: number): number {
  const text = optionalText(query, 'page');
  if (text === undefined) return 1;
  if (!/^\d{1,9}$/.test(text) || Number(text) < 1) throw ApiError.badRequest('page must be a whole number from 1');
  return Math.min(Number(text), Math.max(1, pages));
}

export function oneOf<T extends string>(query: Query, name: string, allowed: readonly T[]): T | undefined {
  const text = optionalText(query, name);
  if (text === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(text)) throw ApiError.badRequest(`${name} must be one of ${allowed.join(', ')}`);
  return text as T;
}

/** An item id from a path, of any length the router let through: the sync API stores ids of any length. */
export function pathId(value: string): string {
  if (value.length === 0) throw ApiError.notFound('no such item');
  return value;
}

export interface Paged<T> {
  items: T[];
  page: number;
  pages: number;
}

export const PAGE_SIZE = 50;

export function paginate<T>(all: readonly T[], query: Query, size = PAGE_SIZE): Paged<T> {
  const pages = Math.max(1, Math.ceil(all.length / size));
  const page = pageNumber(query, pages);
  return { items: all.slice((page - 1) * size, page * size), page, pages };
}
