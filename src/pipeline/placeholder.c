/* placeholder so the pipeline library is never empty */
int dossier_pipeline_placeholder_;
