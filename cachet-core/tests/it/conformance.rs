use cachet_core::memory::MemoryStore;

async fn memory() -> MemoryStore {
    MemoryStore::new()
}

cachet_core::conformance_tests!(memory);
