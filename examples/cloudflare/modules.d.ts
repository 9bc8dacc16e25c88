// wrangler bundles *.yaml as text (the Text rule in wrangler.toml).
declare module '*.yaml' {
  const text: string;
  export default text;
}
