/* placeholder so the analyze library is never empty */
int dossier_analyze_placeholder_;
