"""What a quote is and what is true of it: the model, dates, the corpus, selection, search, curation,
import and export, and the store. It knows nothing of the other packages (docs/architecture.md)."""
