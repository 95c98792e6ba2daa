// SQL files are imported as text (`with { type: "text" }`), embedded by `bun build`.
declare module "*.sql" {
  const text: string;
  export default text;
}

// The API docs page's assets, embedded by `bun build` (the package ships no types for them).
declare module "swagger-ui-dist/swagger-ui-bundle.js" {
  const text: string;
  export default text;
}
declare module "swagger-ui-dist/swagger-ui.css" {
  const text: string;
  export default text;
}
