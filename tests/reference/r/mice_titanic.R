## Reference values from R's mice for tests/model/test_imputation.py (analysis/model/imputation.py).
##
## Usage (from the repository root; R is not a dependency of the project: run once, the JSON is committed):
##   Rscript tests/reference/r/mice_titanic.R [path/to/titanic.json]
## Input:  tests/data/public/titanic.csv (carData::TitanicSurvival, 1,309 rows; exported by titanic_data.R)
##         optionally the other helper's tests/reference/r/titanic.json, only to record whether section A's
##         imputations are identical to the ones stored there (same call, same seed)
## Output: tests/reference/r/mice_titanic.json
## Computed with R 4.2.2 and the Debian packages r-cran-mice 3.15.0, r-cran-mitml 0.4-4 (mice's D1 calls
## mitml::testModels), r-cran-nnet 7.3-18 (polyreg), r-cran-jsonlite, r-cran-digest. Numbers are written
## with jsonlite::toJSON(digits = NA): 15 significant digits (imputed ages are observed ages, read from the
## CSV's 15-digit text, so they round-trip exactly).
##
## Data as titanic.R reads it: survived 0/1 (1 = "yes"), sex factor(c("male", "female")), age numeric (263
## NA), passengerClass factor(c("3rd", "1st", "2nd")); mi_data = these four columns in this order.
## Every glm: family = binomial, control = glm.control(epsilon = 1e-15, maxit = 100).
##
## Sections
##  A. pool(): mice(mi_data, m = 20, method = c("", "", "pmm", ""), seed = 2024, maxit = 10) (the call of
##     titanic.json's section g); the 263 imputed ages of each completed data set by id; pool()$pooled and
##     summary(pool(), conf.int = TRUE) for the main model M = survived ~ sex + passengerClass + age and for
##     an interaction model MI = survived ~ sex * passengerClass + age + sex:age (8 coefficients).
##  B. D1(): mice::D1(fit1, fit0) (Li, Raghunathan & Rubin 1991 with Reiter's 2007 small-sample df, through
##     mitml::testModels, dfcom = df.residual) on the imputations of A: each term of M against M without it;
##     each interaction of the full model F = sex + passengerClass + age + the three two-way interactions.
##  C. Backward elimination under imputation by Rubin's-rules Wald tests (Wood, White & Royston 2008, "RR"),
##     written here in R on mice::D1 with R's own marginality (drop.scope), from F on the imputations of A,
##     with two rules: "aic" (the term with the smallest W - 2 df leaves while W = df1 * D1 < 2 df) and
##     "pvalue" (the term with the largest D1 p-value leaves while p > slstay = 0.05; ties: smaller D1).
##     Every candidate's D1 at every step is stored.
##  D. Monte-Carlo reference: mice repeated with seeds 1..K, m = 20, maxit = 10, on (i) mi_data (pmm for
##     age; K = 100) and (ii) mi_data with sex and passengerClass also made missing by a fixed MAR rule
##     (default methods: pmm, logreg, polyreg; K = 40); per run the pooled M and summaries of the imputed
##     values, so a Python run can be judged against the spread of mice's runs.
##  E. One imputation step of each method with R's random numbers exported, so the Python steps can be
##     fed the same draws: .norm.draw (chi-square and normal draws), pmm with donors = 1 (deterministic
##     given the draws) and donors = 5 (R's choice must be one of the 5 nearest), augment(), logreg,
##     polyreg (nnet::multinom on augmented, weighted data), remove.lindep().
suppressPackageStartupMessages({
  library(mice)
  library(mitml)
  library(nnet)
  library(jsonlite)
  library(digest)
})
options(warn = 1, width = 200)
args <- commandArgs(trailingOnly = TRUE)
OTHER_JSON <- if (length(args) >= 1) args[1] else "tests/reference/r/titanic.json"
CSV <- "tests/data/public/titanic.csv"
OUTFILE <- "tests/reference/r/mice_titanic.json"
CTRL <- glm.control(epsilon = 1e-15, maxit = 100)
t_start <- Sys.time()

raw <- read.csv(CSV, stringsAsFactors = FALSE, na.strings = "", fileEncoding = "UTF-8")
d <- data.frame(id = raw$id, survived = as.integer(raw$survived == "yes"),
                sex = factor(raw$sex, levels = c("male", "female")), age = raw$age,
                passengerClass = factor(raw$passengerClass, levels = c("3rd", "1st", "2nd")))
stopifnot(identical(d$id, seq_len(nrow(d))), sum(is.na(d$age)) == 263)
mi_data <- d[c("survived", "sex", "age", "passengerClass")]
rownames(mi_data) <- d$id
METH <- c("", "", "pmm", "")          # by position (mice 3.15 matches the method vector by position)

M <- survived ~ sex + passengerClass + age
MI <- survived ~ sex * passengerClass + age + sex:age
F <- survived ~ sex + passengerClass + age + sex:passengerClass + sex:age + passengerClass:age
fit_all <- function(imp, formula) {
  fits <- lapply(seq_len(imp$m), function(k) glm(formula, family = binomial, data = complete(imp, k), control = CTRL))
  as.mira(fits)
}
pooled_list <- function(pl) {
  p <- pl$pooled
  list(term = as.character(p$term), m = p$m, estimate = p$estimate, ubar = p$ubar, b = p$b, t = p$t,
       dfcom = p$dfcom, df = p$df, riv = p$riv, lambda = p$lambda, fmi = p$fmi)
}
summary_list <- function(pl) {
  s <- summary(pl, conf.int = TRUE)
  list(term = as.character(s$term), estimate = s$estimate, std.error = s$std.error, statistic = s$statistic,
       df = s$df, p.value = s$p.value, conf.low = s$`2.5 %`, conf.high = s$`97.5 %`)
}

## ------------------------------------------------------------------ A. pool -------------------------------------
imp <- mice(mi_data, m = 20, method = METH, seed = 2024, maxit = 10, printFlag = FALSE)
stopifnot(identical(unname(imp$method), METH), all(imp$predictorMatrix["age", c("survived", "sex", "passengerClass")] == 1))
imp_age <- imp$imp$age
ids <- as.integer(rownames(imp_age))
stopifnot(identical(ids, d$id[is.na(d$age)]))
same_as_other <- NA
if (file.exists(OTHER_JSON)) {
  other <- fromJSON(OTHER_JSON, simplifyVector = FALSE)$g_mice$imputed_age
  same_as_other <- identical(as.integer(unlist(other$ids)), ids) &&
    all(sapply(seq_len(20), function(k) identical(sprintf("%.17g", imp_age[[k]]), unlist(other$values_exact[[k]]))))
}
fits_M <- fit_all(imp, M)
fits_MI <- fit_all(imp, MI)
pool_M <- pool(fits_M)
pool_MI <- pool(fits_MI)
sec_a <- list(
  call = "mice(mi_data, m = 20, method = c(\"\", \"\", \"pmm\", \"\"), seed = 2024, maxit = 10, printFlag = FALSE)",
  identical_to_titanic_json_g_mice = same_as_other,
  imputed_age = list(ids = ids, values = unname(lapply(imp_age, function(v) unname(v)))),
  models = list(
    main = list(formula = deparse(M), pooled = pooled_list(pool_M), summary = summary_list(pool_M),
                column_names = names(coef(fits_M$analyses[[1]]))),
    interaction = list(formula = deparse(MI), pooled = pooled_list(pool_MI), summary = summary_list(pool_MI),
                       column_names = names(coef(fits_MI$analyses[[1]])))),
  analysis = "glm(formula, family = binomial, data = complete(imp, k), control = glm.control(epsilon = 1e-15, maxit = 100)); pool(as.mira(fits))")

## ------------------------------------------------------------------ B. D1 ---------------------------------------
d1 <- function(fit1, fit0) {
  r <- D1(fit1, fit0)$result
  list(statistic = unname(r[1, "F.value"]), df1 = unname(r[1, "df1"]), df2 = unname(r[1, "df2"]),
       p_value = unname(r[1, "P(>F)"]), riv = unname(r[1, "RIV"]))
}
drop_term <- function(formula, term) update(formula, as.formula(paste(". ~ . -", term)))
fits_F <- fit_all(imp, F)
sec_b <- list(dfcom_main = unname(fits_M$analyses[[1]]$df.residual), dfcom_full = unname(fits_F$analyses[[1]]$df.residual),
              main = list(), full = list())
for (term in c("sex", "passengerClass", "age")) sec_b$main[[term]] <- d1(fits_M, fit_all(imp, drop_term(M, term)))
for (term in c("sex:passengerClass", "sex:age", "passengerClass:age")) sec_b$full[[term]] <- d1(fits_F, fit_all(imp, drop_term(F, term)))

## ------------------------------------------------------------------ C. backward elimination (RR) ----------------
backward <- function(rule, slstay = 0.05) {
  formula <- F
  steps <- list()
  repeat {
    fit1 <- fit_all(imp, formula)
    cand <- drop.scope(formula)
    if (length(cand) == 0) break
    tests <- lapply(cand, function(t) c(term = t, d1(fit1, fit_all(imp, drop_term(formula, t)))))
    w <- sapply(tests, function(x) x$statistic * x$df1)
    df1 <- sapply(tests, function(x) x$df1)
    p <- sapply(tests, function(x) x$p_value)
    stat <- sapply(tests, function(x) x$statistic)
    if (rule == "aic") {
      crit <- w - 2 * df1
      j <- order(crit)[1]                                 # order() is stable: ties go to model order
      leave <- crit[j] < 0
    } else {
      j <- order(-p, stat)[1]
      leave <- p[j] > slstay
    }
    steps[[length(steps) + 1]] <- list(formula = deparse(formula), candidates = tests, chosen = cand[j], leaves = leave)
    if (!leave) break
    formula <- drop_term(formula, cand[j])
  }
  list(rule = rule, slstay = if (rule == "pvalue") slstay else NULL, steps = steps,
       final_terms = attr(terms(formula), "term.labels"))
}
sec_c <- list(start = deparse(F), aic = backward("aic"), pvalue = backward("pvalue", 0.05),
              pvalue_strict = backward("pvalue", 0.001))

## ------------------------------------------------------------------ D. Monte-Carlo reference --------------------
mar_data <- function(x) {
  x$sex[d$id %% 4 == 0 & d$survived == 1] <- NA
  x$passengerClass[d$id %% 5 == 2 & d$survived == 0] <- NA
  x
}
mi_mar <- mar_data(mi_data)
run_summary <- function(imp) {
  pl <- pool(fit_all(imp, M))$pooled
  out <- list(estimate = pl$estimate, se = sqrt(pl$t), df = pl$df, fmi = pl$fmi, riv = pl$riv, b = pl$b, ubar = pl$ubar,
              mean_imputed_age = mean(unlist(imp$imp$age)))
  if (!is.null(imp$imp$sex) && nrow(imp$imp$sex) > 0) {
    out$share_female_imputed <- mean(unlist(lapply(imp$imp$sex, as.character)) == "female")
    cls <- unlist(lapply(imp$imp$passengerClass, as.character))
    out$share_1st_imputed <- mean(cls == "1st")
    out$share_2nd_imputed <- mean(cls == "2nd")
  }
  out
}
collect <- function(runs) {
  keys <- names(runs[[1]])
  out <- lapply(keys, function(k) {
    v <- lapply(runs, `[[`, k)
    if (length(v[[1]]) > 1) unname(do.call(rbind, v)) else unlist(v)
  })
  names(out) <- keys
  out
}
t_d <- Sys.time()
K_PMM <- as.integer(Sys.getenv("K_PMM", "100")); K_MAR <- as.integer(Sys.getenv("K_MAR", "40"))  # smaller only to try the script
runs_pmm <- lapply(seq_len(K_PMM), function(s) run_summary(mice(mi_data, m = 20, method = METH, seed = s, maxit = 10, printFlag = FALSE)))
t_pmm <- as.numeric(difftime(Sys.time(), t_d, units = "secs"))
imp_mar1 <- mice(mi_mar, m = 20, seed = 1, maxit = 10, printFlag = FALSE)
t_d <- Sys.time()
runs_mar <- lapply(seq_len(K_MAR), function(s) run_summary(mice(mi_mar, m = 20, seed = s, maxit = 10, printFlag = FALSE)))
t_mar <- as.numeric(difftime(Sys.time(), t_d, units = "secs"))
sec_d <- list(
  terms = names(coef(fits_M$analyses[[1]])),
  pmm = list(call = "mice(mi_data, m = 20, method = c(\"\", \"\", \"pmm\", \"\"), seed = s, maxit = 10), s = 1..100",
             seeds = seq_len(K_PMM), runs = collect(runs_pmm), seconds_per_run = t_pmm / K_PMM),
  mar = list(call = "mice(mi_mar, m = 20, seed = s, maxit = 10), s = 1..40 (default methods)",
             rule = "sex NA where id %% 4 == 0 & survived == 1; passengerClass NA where id %% 5 == 2 & survived == 0",
             missing = list(sex = sum(is.na(mi_mar$sex)), passengerClass = sum(is.na(mi_mar$passengerClass)), age = sum(is.na(mi_mar$age))),
             method = as.list(imp_mar1$method), visitSequence = imp_mar1$visitSequence,
             seeds = seq_len(K_MAR), runs = collect(runs_mar), seconds_per_run = t_mar / K_MAR))

## ------------------------------------------------------------------ E. single steps with R's draws --------------
u <- d$id / 1309                                  # a continuous predictor without ties (exact in any language)
X0 <- cbind(survived = d$survived, sexfemale = as.numeric(d$sex == "female"),
            class1st = as.numeric(d$passengerClass == "1st"), class2nd = as.numeric(d$passengerClass == "2nd"))
y <- d$age; ry <- !is.na(y)
# E1 .norm.draw
set.seed(101); nd <- mice:::.norm.draw(y, ry, cbind(1, X0))
set.seed(101); chi1 <- rchisq(1, max(sum(ry) - 5, 1)); z1 <- rnorm(5)
# E2 pmm, donors = 1 and 5, with u as an extra predictor
Xu <- cbind(X0, u = u)
set.seed(202); pmm1 <- mice.impute.pmm(y, ry, Xu, donors = 1L)
set.seed(202); chi2 <- rchisq(1, max(sum(ry) - 6, 1)); z2 <- rnorm(6)
set.seed(203); pmm5 <- mice.impute.pmm(y, ry, Xu, donors = 5L)
set.seed(203); chi5 <- rchisq(1, max(sum(ry) - 6, 1)); z5 <- rnorm(6)
# E3 logreg for sex (missing by the MAR rule) on survived, class dummies, u
ys <- mi_mar$sex; rys <- !is.na(ys)
Xs <- cbind(survived = d$survived, class1st = X0[, "class1st"], class2nd = X0[, "class2nd"], u = u)
set.seed(303); lr <- mice.impute.logreg(ys, rys, Xs)
set.seed(303); zl <- rnorm(ncol(Xs) + 1); ul <- runif(sum(!rys))
aug <- mice:::augment(ys, rys, Xs, !rys)
xa <- cbind(1, as.matrix(aug$x))
gf <- glm.fit(x = xa[aug$ry, , drop = FALSE], y = aug$y[aug$ry], family = quasibinomial(link = logit), weights = aug$w[aug$ry])
gs <- summary.glm(gf)
beta_star <- coef(gf) + t(chol(mice:::sym(gs$cov.unscaled))) %*% zl
p_mis <- 1 / (1 + exp(-(xa[aug$wy, , drop = FALSE] %*% beta_star)))
# augment() rebuilds the factor with as.factor(), so its levels are in alphabetical order (female, male) and
# the glm models P(y = the second of those); the draw u <= p gives that level
stopifnot(identical(as.character(lr), levels(aug$y)[1 + (ul <= p_mis)]))
# E4 polyreg for passengerClass (missing by the MAR rule) on survived, sexfemale, u
yc <- mi_mar$passengerClass; ryc <- !is.na(yc)
Xc <- cbind(survived = d$survived, sexfemale = X0[, "sexfemale"], u = u)
set.seed(404); pr <- mice.impute.polyreg(yc, ryc, Xc)
set.seed(404); up <- runif(sum(!ryc))
augc <- mice:::augment(yc, ryc, Xc, !ryc)
xy <- cbind.data.frame(y = augc$y, x = augc$x)
mfit <- multinom(formula(xy), data = xy[augc$ry, , drop = FALSE], weights = augc$w[augc$ry], maxit = 100, trace = FALSE, MaxNWts = 1500)
post <- predict(mfit, xy[augc$wy, , drop = FALSE], type = "probs")
# as for logreg, the categories are in alphabetical order after augment() (1st, 2nd, 3rd): the columns of post
stopifnot(identical(as.character(pr), levels(as.factor(augc$y))[1 + colSums(rep(up, each = 3) > apply(post, 1, cumsum))]))
# E5 remove.lindep: an exactly collinear column, and a column correlated > 0.99 with y
Xl <- cbind(X0, dup = X0[, "sexfemale"] + X0[, "class1st"], near_y = ifelse(ry, y, 0) + 1e-3 * u)
# remove.lindep() logs what it removes through mice's internal state, which only exists inside mice(): give it one
state <- list(it = 1, im = 1, dep = "age", meth = "pmm", log = FALSE); loggedEvents <- NULL
keep_l <- mice:::remove.lindep(Xl, y, ry)
sec_e <- list(
  predictors = colnames(X0), u = "id / 1309",
  norm_draw = list(seed = 101, df = max(sum(ry) - 5, 1), chisq = chi1, z = z1, coef = as.numeric(nd$coef),
                   beta = as.numeric(nd$beta), sigma = as.numeric(nd$sigma),
                   call = "set.seed(101); mice:::.norm.draw(age, !is.na(age), cbind(1, X0)); draws: set.seed(101); rchisq(1, df); rnorm(5)"),
  pmm = list(columns = colnames(Xu),
             donors1 = list(seed = 202, chisq = chi2, z = z2, imputed = as.numeric(pmm1)),
             donors5 = list(seed = 203, chisq = chi5, z = z5, imputed = as.numeric(pmm5)),
             call = "set.seed(s); mice.impute.pmm(age, !is.na(age), cbind(X0, u), donors = k); draws: set.seed(s); rchisq(1, df); rnorm(6)"),
  augment = list(columns = colnames(Xs), x = unname(as.matrix(aug$x[!(seq_len(nrow(aug$x)) <= nrow(Xs)), ])),
                 y = as.character(aug$y)[-seq_len(nrow(Xs))], w = aug$w[-seq_len(nrow(Xs))],
                 call = "mice:::augment(sex (MAR rule), !is.na(sex), cbind(survived, class1st, class2nd, u), is.na(sex)): the added rows"),
  logreg = list(columns = colnames(Xs), seed = 303, z = zl, u = ul, beta = unname(coef(gf)),
                cov_unscaled = unname(gs$cov.unscaled), beta_star = as.numeric(beta_star), p_mis = as.numeric(p_mis),
                imputed = as.character(lr), levels = levels(ys), levels_fitted = levels(aug$y),
                call = "set.seed(303); mice.impute.logreg(sex, ry, X); draws: set.seed(303); rnorm(5); runif(n_mis); internals replicated and checked identical"),
  polyreg = list(columns = colnames(Xc), seed = 404, u = up, post = unname(post), imputed = as.character(pr),
                 levels = levels(yc), levels_fitted = levels(as.factor(augc$y)), loglik = as.numeric(logLik(mfit)), coefficients = unname(coef(mfit)),
                 call = "set.seed(404); mice.impute.polyreg(passengerClass, ry, X); draws: set.seed(404); runif(n_mis); multinom(maxit = 100) replicated and checked identical"),
  remove_lindep = list(columns = colnames(Xl), keep = as.logical(keep_l), logged = loggedEvents$out,
                       call = "mice:::remove.lindep(cbind(X0, dup = sexfemale + class1st, near_y = age (0 if NA) + 1e-3 u), age, !is.na(age))"))

## ------------------------------------------------------------------ write ---------------------------------------
prov <- list(
  script = "tests/reference/r/mice_titanic.R", command = "Rscript tests/reference/r/mice_titanic.R",
  R = R.version.string,
  packages = lapply(c(mice = "mice", mitml = "mitml", nnet = "nnet", jsonlite = "jsonlite", digest = "digest", stats = "stats"),
                    function(p) as.character(packageVersion(p))),
  RNGkind = RNGkind(), sessionInfo = capture.output(sessionInfo()),
  date = format(Sys.time(), "%Y-%m-%d %H:%M:%S UTC", tz = "UTC"),
  seconds = as.numeric(difftime(Sys.time(), t_start, units = "secs")),
  data_file = CSV, data_sha256 = digest(file = CSV, algo = "sha256"),
  glm_control = "glm.control(epsilon = 1e-15, maxit = 100)",
  json = "jsonlite::toJSON(x, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = \"null\"); 15 significant digits")
out <- list(provenance = prov, A_pool = sec_a, B_D1 = sec_b, C_backward = sec_c, D_monte_carlo = sec_d, E_steps = sec_e)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"), OUTFILE)
message("wrote ", OUTFILE)
