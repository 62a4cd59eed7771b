/** Small TypeBox helpers shared by the schemas. Pure. */
import { type TSchema, Type } from '@sinclair/typebox';

/** One of a fixed list of strings. */
export const literals = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));

export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
