/* placeholder so the store library is never empty */
int dossier_store_placeholder_;
