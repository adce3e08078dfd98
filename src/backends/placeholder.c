/* placeholder so the backends library is never empty */
int dossier_backends_placeholder_;
