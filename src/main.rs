fn main() {
    std::process::exit(clinic::cli::run());
}
