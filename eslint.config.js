// Type-aware lint. The layer rules keep the architecture the folders describe:
// src/sip, src/rtp, src/codec are leaves (import only src/shared); pipeline may use codec;
// call joins sip + rtp + codec + pipeline; api talks to call; only main.ts imports everything.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const layer = (files, forbidden, message) => ({
  files,
  rules: {
    'no-restricted-imports': [
      'error',
      { patterns: forbidden.map((group) => ({ group: [group], message })) },
    ],
  },
});

// Inside a layer other layers are reached through their index.ts only.
const deepImports = ['**/sip/*/**', '**/rtp/*/**', '**/codec/*/**', '**/pipeline/*/**', '**/call/*/**', '**/api/*/**'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'test/.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-empty': ['error', { allowEmptyCatch: false }],
      eqeqeq: ['error', 'smart'],
    },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
  layer(['src/shared/**'], ['**/sip/**', '**/rtp/**', '**/codec/**', '**/pipeline/**', '**/call/**', '**/api/**', '**/main*'], 'src/shared is the base layer and imports nothing of ours.'),
  layer(['src/codec/**'], ['**/sip/**', '**/rtp/**', '**/pipeline/**', '**/call/**', '**/api/**', '**/main*'], 'src/codec is a leaf: it imports only src/shared.'),
  layer(['src/rtp/**'], ['**/sip/**', '**/codec/**', '**/pipeline/**', '**/call/**', '**/api/**', '**/main*'], 'src/rtp is a leaf: it imports only src/shared.'),
  layer(['src/sip/**'], ['**/rtp/**', '**/codec/**', '**/pipeline/**', '**/call/**', '**/api/**', '**/main*'], 'src/sip is a leaf: it imports only src/shared.'),
  // Inside src/sip the sub-layers go message → transport → transaction → dialog → ua, like sipgo;
  // sdp, auth and trunk are helpers that only the dialog and ua layers use.
  layer(['src/sip/message/**'], ['**/transport/**', '**/transaction/**', '**/dialog/**', '**/ua/**', '**/sdp/**', '**/auth/**', '**/trunk/**', '**/rtp/**', '**/codec/**', '**/pipeline/**', '**/call/**', '**/api/**'], 'src/sip/message is the bottom of the SIP stack.'),
  layer(['src/sip/transport/**'], ['**/transaction/**', '**/dialog/**', '**/ua/**', '**/sdp/**', '**/auth/**', '**/trunk/**', '**/rtp/**', '**/codec/**', '**/pipeline/**', '**/call/**', '**/api/**'], 'src/sip/transport imports only src/sip/message.'),
  layer(['src/sip/transaction/**'], ['**/dialog/**', '**/ua/**', '**/sdp/**', '**/auth/**', '**/trunk/**', '**/rtp/**', '**/codec/**', '**/pipeline/**', '**/call/**', '**/api/**'], 'src/sip/transaction imports only transport and message.'),
  layer(['src/sip/dialog/**'], ['**/ua/**', '**/rtp/**', '**/codec/**', '**/pipeline/**', '**/call/**', '**/api/**'], 'src/sip/dialog must not import the user agent.'),
  layer(['src/sip/sdp/**', 'src/sip/auth/**', 'src/sip/trunk/**'], ['**/transport/**', '**/transaction/**', '**/dialog/**', '**/ua/**', '**/rtp/**', '**/codec/**', '**/pipeline/**', '**/call/**', '**/api/**'], 'sdp, auth and trunk are pure helpers over src/sip/message.'),
  layer(['src/pipeline/**'], ['**/sip/**', '**/rtp/**', '**/call/**', '**/api/**', '**/main*', '**/codec/*/**'], 'src/pipeline may import src/codec (its index) and src/shared only.'),
  layer(['src/call/**'], ['**/api/**', '**/main*', ...deepImports.filter((g) => !g.includes('/call/'))], 'src/call joins sip, rtp, codec and pipeline through their index.ts.'),
  layer(['src/api/**'], ['**/main*', '**/sip/**', '**/rtp/**', '**/codec/**', '**/pipeline/**', '**/call/*/**'], 'src/api talks to src/call (its index) only.'),
  {
    files: ['test/**', 'bench/**', '**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
