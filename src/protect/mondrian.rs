//! Mondrian: strict multidimensional partitioning (LeFevre et al. 2006). Work in progress.
