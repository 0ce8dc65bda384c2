/** Response and request body types read from generated `paths` (openapi-typescript). */

type Ok = 200 | 201
/** The JSON body of a success answer of `paths[P][M]`. */
export type JsonOf<Paths, P extends keyof Paths, M extends keyof Paths[P]> = Paths[P][M] extends { responses: infer R }
  ? { [S in keyof R & Ok]: R[S] extends { content: { 'application/json': infer B } } ? B : never }[keyof R & Ok]
  : never
/** The JSON request body of `paths[P][M]`. */
export type BodyOf<Paths, P extends keyof Paths, M extends keyof Paths[P]> = Paths[P][M] extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never
