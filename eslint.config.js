import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // The driver differs by Node version; src/store/sqlite-driver.ts picks it.
      'no-restricted-imports': ['error', { paths: ['better-sqlite3', 'better-sqlite3-napi'].map((name) => ({ name, message: 'import from src/store/sqlite-driver.ts' })) }],
    },
  },
  { files: ['src/store/sqlite-driver.ts'], rules: { 'no-restricted-imports': 'off' } },
);
