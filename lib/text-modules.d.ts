// SQL files are imported as text (`with { type: "text" }`), embedded by `bun build`.
declare module "*.sql" {
  const text: string;
  export default text;
}
