// The offline queue: reports (with their photos as Blobs) kept in IndexedDB
// until the server has them. Each entry's key is its Idempotency-Key, made
// once when the report is written, so every retry is the same request and
// the server never makes a second case.

const DB = 'wangge-m';
const STORE = 'outbox';

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'key' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function run(mode, fn) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const out = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(out && 'result' in out ? out.result : undefined);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

export const outbox = {
  put: (item) => run('readwrite', (s) => s.put(item)),
  remove: (key) => run('readwrite', (s) => s.delete(key)),
  all: async () => (await run('readonly', (s) => s.getAll())) || [],
};
